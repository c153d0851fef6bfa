// A release folder served by a hostile HTTP server on loopback, and upcat upgrade run from source against it, watched:
// elapsed time, peak memory (VmHWM) and what it left beside the installed binary.
import { createHash } from "node:crypto";
import { linkSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** TARGET is the release target the run from source pretends to be (the asset it asks for). */
export const TARGET = "linux-x64";
export const ASSET = `upcat-${TARGET}`;
/** NEW is the release the hostile folders hold: newer than any tree's own version. */
export const NEW = "99.0.0";
const ROOT = new URL("../..", import.meta.url).pathname;

/** Reply writes one response; `sent` counts the body bytes written, for tests that assert where the client stopped. */
export type Reply = (res: ServerResponse, sent: { bytes: number }) => void;

/** Each bounded reply also ends by this deadline, so a client that never hangs up cannot keep the server busy. */
const REPLY_MS = 20_000;

export const reply = {
  /** bytes answers 200 with these bytes and their Content-Length. */
  bytes:
    (body: string | Uint8Array): Reply =>
    (res, sent) => {
      res.writeHead(200, { "Content-Length": Buffer.byteLength(body) });
      res.end(body);
      sent.bytes += Buffer.byteLength(body);
    },
  /** endless answers 200 without a length and writes 64 KiB chunks as fast as the client reads, up to `limit`. */
  endless:
    (limit = 1 << 30): Reply =>
    (res, sent) => {
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      const chunk = Buffer.alloc(64 << 10, 0x61);
      const until = Date.now() + REPLY_MS;
      const pump = () => {
        while (sent.bytes < limit && Date.now() < until && !res.destroyed) {
          sent.bytes += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    },
  /** drip sends `body` one byte every `everyMs`, with its true Content-Length. */
  drip:
    (body: string, everyMs: number): Reply =>
    (res, sent) => {
      res.writeHead(200, { "Content-Length": body.length });
      let i = 0;
      const timer = setInterval(() => {
        if (res.destroyed || i >= body.length) return void (clearInterval(timer), res.end());
        res.write(body[i++]);
        sent.bytes++;
      }, everyMs);
    },
  /** claims sends a Content-Length of `length`, one chunk, and then nothing until its deadline. */
  claims:
    (length: number): Reply =>
    (res, sent) => {
      res.writeHead(200, { "Content-Length": String(length) });
      res.write(Buffer.alloc(1024));
      sent.bytes += 1024;
      setTimeout(() => res.destroy(), REPLY_MS);
    },
  /** silent reads the request and answers nothing, not even headers, until its deadline. */
  silent: (): Reply => (res) => void setTimeout(() => res.destroy(), REPLY_MS),
  /** status answers with this status and reason phrase (which the server controls, and may fill with controls). */
  status:
    (code: number, reason: string): Reply =>
    (res) => {
      res.writeHead(code, reason, { "Content-Length": 0 });
      res.end();
    },
};

/** Release is a release folder: VERSION, SHA256SUMS and the asset, each a reply. */
export interface Release {
  version?: Reply;
  sums?: Reply;
  asset?: Reply;
}

/** sha256 of bytes, as SHA256SUMS writes it. */
export function sha256(bytes: string | Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** release is a well-formed folder whose asset is `binary`, with any of its replies replaced. */
export function release(binary: string | Uint8Array, over: Release = {}): Release {
  return {
    version: reply.bytes(`${NEW}\n`),
    sums: reply.bytes(`${sha256(binary)}  ${ASSET}\n`),
    asset: reply.bytes(binary),
    ...over,
  };
}

export interface HostileServer {
  origin: string;
  /** sent counts the body bytes written for each path. */
  sent: Map<string, { bytes: number }>;
  close(): void;
}

/** serve lays the releases out as /NAME/VERSION, /NAME/SHA256SUMS, /NAME/ASSET on 127.0.0.1, port 0. */
export async function serve(releases: Record<string, Release>): Promise<HostileServer> {
  const sent = new Map<string, { bytes: number }>();
  const server = createServer((req, res) => {
    const [, name = "", file = ""] = (req.url ?? "").split("/");
    const folder = releases[name];
    const chosen = { VERSION: folder?.version, SHA256SUMS: folder?.sums, [ASSET]: folder?.asset }[file];
    if (!chosen) return void (res.writeHead(404, { "Content-Length": 0 }), res.end());
    const count = { bytes: 0 };
    sent.set(req.url ?? "", count);
    res.on("error", () => {});
    chosen(res, count);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    sent,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}

/** Installed is a bin folder holding `upcat`: a hard link to the Bun that runs the tests, and so runs src/main.ts. */
export interface Installed {
  dir: string;
  path: string;
}

/**
 * install makes the binary that upgrade replaces: Bun under the name upcat (a link, not a 100 MB copy). Upgrade
 * replaces process.execPath, and a rename over a link leaves the Bun it links to as it was.
 */
export function install(): Installed {
  const dir = mkdtempSync(join(tmpdir(), "upgrade-hostile-"));
  const path = join(dir, "upcat");
  linkSync(process.execPath, path);
  return { dir, path };
}

/** BUN_SHA256 is the installed file's hash before any upgrade: the tests' own Bun. */
export const BUN_SHA256 = createHash("sha256").update(readFileSync(process.execPath)).digest("hex");

/** Upgraded is how a run of upcat upgrade went. */
export interface Upgraded {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** peakKiB is the highest VmHWM read from /proc while it ran. */
  peakKiB: number;
  /** overMemory: the watcher killed it for passing MEMORY_KILL_KIB (the test then fails on it). */
  overMemory: boolean;
}

/** MEMORY_KILL_KIB: a run past this is killed by the test, never left to the OOM killer. */
const MEMORY_KILL_KIB = 600 << 10;

function statusKiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * upgrade runs `upcat upgrade ARGS` from source as the installed binary, with UPCAT_BASE_URL at `folder`; it is killed
 * after `killMs` (the test then fails on its status and time).
 */
export async function upgrade(installed: Installed, folder: string, args: string[], killMs = 20_000) {
  const started = performance.now();
  const proc = Bun.spawn(
    [installed.path, "--define", `UPCAT_TARGET:"${TARGET}"`, join(ROOT, "src/main.ts"), "upgrade", ...args],
    {
      cwd: tmpdir(),
      env: { PATH: "/usr/bin:/bin", HOME: tmpdir(), NO_COLOR: "1", UPCAT_BASE_URL: folder },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  let peakKiB = 0;
  let overMemory = false;
  const watch = setInterval(() => {
    peakKiB = Math.max(peakKiB, statusKiB(proc.pid, "VmHWM"));
    if (statusKiB(proc.pid, "VmRSS") > MEMORY_KILL_KIB) (overMemory = true), proc.kill("SIGKILL");
  }, 5);
  const timer = setTimeout(() => proc.kill("SIGKILL"), killMs);
  const [stdout, stderr, status] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearInterval(watch);
  clearTimeout(timer);
  return { status, stdout, stderr, ms: performance.now() - started, peakKiB, overMemory } satisfies Upgraded;
}

/** installedSha256 hashes the installed file as it is now. */
export function installedSha256(installed: Installed): string {
  return createHash("sha256").update(readFileSync(installed.path)).digest("hex");
}

/** leftBeside lists the installed binary's folder: ["upcat"] when nothing was staged or left behind. */
export function leftBeside(installed: Installed): string[] {
  return readdirSync(installed.dir).sort();
}

/** running lists the pids whose command line holds `marker`: processes a trial run left behind. */
export function running(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}
