// upcat upgrade end to end: the compiled binary against a release laid out on a loopback HTTP server, with binaries at
// two versions.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { hostTarget } from "../../scripts/targets.ts";
import { emptyPath } from "../support/binary.ts";
import { requireTool } from "../support/peers.ts";
import { hostRelease, targetRelease } from "../support/release.ts";
import { run, type Ran } from "../support/run.ts";
import { SCRATCH } from "../support/scratch.ts";
import { waitFor } from "../support/wait.ts";
import { re } from "../support/re.ts";

const OLD = pkg.version;
// A newer release than the tree's own version, whatever that is.
const NEW = `${Number(OLD.split(".")[0]) + 1}.0.0`;
const ASSET = hostTarget().asset;
const ROOT = join(SCRATCH, "upgrade-releases");
/** HOMES holds the installs; readable by all (the scratch folder is not), for the test that upgrades as nobody. */
const HOMES = join(SCRATCH, "upgrade-homes");

/** SLEEP_MARK tags the child FORKS leaves behind, to find it if it outlives upgrade. */
const SLEEP_MARK = `1000.${process.pid}`;
// By its full path: upgrade runs with a PATH that has nothing on it.
const FORKS = `#!/bin/sh\n${requireTool("sleep")} ${SLEEP_MARK} &\necho "upcat ${NEW} (forks)"\n`;

let server: Bun.Subprocess<"ignore", "pipe", "inherit">;
let origin: string;
let oldBinary: Uint8Array;
let newBinary: Uint8Array;

beforeAll(async () => {
  chmodSync(SCRATCH, 0o711);
  mkdirSync(HOMES, { mode: 0o755 });
  const [oldDir, newDir] = await Promise.all([hostRelease(OLD), hostRelease(NEW)]);
  oldBinary = await Bun.file(join(oldDir, ASSET)).bytes();
  newBinary = await Bun.file(join(newDir, ASSET)).bytes();
  // GitHub's layout: download/vX/ for each release, latest/download/ for the newest.
  mkdirSync(join(ROOT, "download"), { recursive: true });
  mkdirSync(join(ROOT, "latest"), { recursive: true });
  symlinkSync(oldDir, join(ROOT, "download", `v${OLD}`));
  symlinkSync(newDir, join(ROOT, "download", `v${NEW}`));
  symlinkSync(newDir, join(ROOT, "latest", "download"));
  // A release whose new binary's --version leaves a child holding its stdout, with its true checksum.
  mkdirSync(join(ROOT, "forks"));
  writeFileSync(join(ROOT, "forks", "VERSION"), `${NEW}\n`);
  writeFileSync(join(ROOT, "forks", ASSET), FORKS);
  writeFileSync(join(ROOT, "forks", "SHA256SUMS"), `${hashOf(new TextEncoder().encode(FORKS))}  ${ASSET}\n`);
  // A release whose asset is gone, and one whose SHA256SUMS does not list it.
  for (const [name, sums] of [
    ["missing", await Bun.file(join(newDir, "SHA256SUMS")).text()],
    ["unlisted", ""],
  ] as const) {
    mkdirSync(join(ROOT, name));
    writeFileSync(join(ROOT, name, "VERSION"), `${NEW}\n`);
    writeFileSync(join(ROOT, name, "SHA256SUMS"), sums);
    if (name === "unlisted") symlinkSync(join(newDir, ASSET), join(ROOT, name, ASSET));
  }
  server = Bun.spawn([requireTool("python3"), join(import.meta.dir, "upgrade-server.py"), ROOT], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = server.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  origin = `http://127.0.0.1:${new TextDecoder().decode(value).trim()}`;
}, 120_000);

afterAll(() => {
  server?.kill();
});

/** sleepers: a process FORKS started still runs (its command line names SLEEP_MARK). */
function sleepers(): boolean {
  return readdirSync("/proc").some((pid) => {
    try {
      return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(SLEEP_MARK);
    } catch {
      return false;
    }
  });
}

/** installed puts a release's binary in a fresh bin folder, as install.sh would, and returns its path. */
function installed(bytes: Uint8Array): string {
  const dir = mkdtempSync(join(HOMES, "home-"));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, "bin"), { mode: 0o755 });
  const path = join(dir, "bin", "upcat");
  writeFileSync(path, bytes, { mode: 0o755 });
  return path;
}

/** upcat runs the installed binary with no node or bun on PATH, pointed at the loopback releases. */
function upcat(path: string, args: string[], env: Record<string, string> = {}, argv: string[] = [path]): Promise<Ran> {
  return run(
    { argv, env: { PATH: emptyPath(), HOME: SCRATCH, UPCAT_RELEASES_URL: origin, ...env } },
    ["upgrade", ...args],
    { timeoutMs: 60_000 },
  );
}

async function sha(path: string): Promise<string> {
  return new Bun.CryptoHasher("sha256").update(await Bun.file(path).bytes()).digest("hex");
}

function hashOf(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

/** versionOf runs an installed binary's --version. */
async function versionOf(path: string): Promise<string> {
  return (await run({ argv: [path], env: { PATH: emptyPath() } }, ["--version"])).stdout;
}

describe("--check", () => {
  test("a newer release exists: exit 100 (as dnf check-update) and one line naming both versions", async () => {
    const r = await upcat(installed(oldBinary), ["--check"]);
    expect(r).toMatchObject({
      status: 100,
      stderr: "",
      stdout: `upcat ${NEW} is available (this is ${OLD}): run upcat upgrade\n`,
    });
  });

  test("up to date: exit 0", async () => {
    const r = await upcat(installed(newBinary), ["--check"]);
    expect(r).toMatchObject({ status: 0, stderr: "", stdout: `upcat ${NEW} is up to date (release ${NEW})\n` });
  });
});

describe("upgrade and downgrade", () => {
  test("to the latest: the file is the new release's, byte for byte, and runs as it", async () => {
    const path = installed(oldBinary);
    const r = await upcat(path, []);
    expect(r).toMatchObject({ status: 0, stderr: "", stdout: `upgraded ${path}: ${OLD} -> ${NEW}\n` });
    expect(await sha(path)).toBe(hashOf(newBinary));
    expect(await versionOf(path)).toStartWith(`upcat ${NEW} (`);
    // Nothing left beside it: no staged file, no backup.
    expect(readdirSync(join(path, ".."))).toEqual(["upcat"]);
  });

  test(
    "on a terminal it shows the download's progress (script(1) gives it one); piped, as above, it prints " + "none",
    async () => {
      const path = installed(oldBinary);
      const env = { PATH: emptyPath(), HOME: SCRATCH, UPCAT_RELEASES_URL: origin, TERM: "dumb" };
      const proc = Bun.spawn(
        [requireTool("script"), "--quiet", "--return", "--command", `${path} upgrade`, "/dev/null"],
        { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" },
      );
      const [out, status] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      expect(status).toBe(0);
      const mb = (newBinary.length / 1e6).toFixed(1);
      // Carriage returns redraw one line, which ends at the whole size.
      expect(out).toMatch(new RegExp(`\\r${mb.replace(".", "\\.")} / ${mb.replace(".", "\\.")} MB\\r?\\n`));
      expect(out).toContain(`upgraded ${path}: ${OLD} -> ${NEW}`);
      expect(await sha(path)).toBe(hashOf(newBinary));
    },
  );

  test("to an older VERSION: a downgrade, verified the same way", async () => {
    const path = installed(newBinary);
    const r = await upcat(path, [OLD]);
    expect(r).toMatchObject({ status: 0, stderr: "", stdout: `upgraded ${path}: ${NEW} -> ${OLD}\n` });
    expect(await sha(path)).toBe(hashOf(oldBinary));
    expect(await versionOf(path)).toStartWith(`upcat ${OLD} (`);
  });

  test("already the latest: exit 0 with one line, nothing downloaded or touched", async () => {
    const path = installed(newBinary);
    const r = await upcat(path, []);
    expect(r).toMatchObject({ status: 0, stderr: "", stdout: `upcat ${NEW} is up to date (release ${NEW})\n` });
    expect(await sha(path)).toBe(hashOf(newBinary));
  });

  test("--dry-run says what it would replace and replaces nothing", async () => {
    const path = installed(oldBinary);
    const r = await upcat(path, ["--dry-run"]);
    expect(r.stdout).toBe(
      `would download ${origin}/latest/download/${ASSET}, verify it against SHA256SUMS, run its --version and ` +
        `replace ${path} (${OLD} -> ${NEW})\n`,
    );
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(await sha(path)).toBe(hashOf(oldBinary));
  });

  test("through a symlink on PATH: the real file is replaced and the link still points at it", async () => {
    const path = installed(oldBinary);
    const link = join(path, "..", "..", "upcat-link");
    symlinkSync(path, link);
    const r = await upcat(path, [], {}, [link]);
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(readlinkSync(link)).toBe(path);
    expect(await sha(path)).toBe(hashOf(newBinary));
  });

  test(
    "UPCAT_BASE_URL as install.sh reads it: a mirror folder, used for the latest and for the version it " + "holds",
    async () => {
      const path = installed(oldBinary);
      const mirror = `${origin}/download/v${NEW}/`;
      expect(await upcat(path, ["--check"], { UPCAT_BASE_URL: mirror })).toMatchObject({ status: 100 });
      const r = await upcat(path, [NEW], { UPCAT_BASE_URL: mirror, UPCAT_RELEASES_URL: "http://127.0.0.1:9" });
      expect(r).toMatchObject({ status: 0, stderr: "", stdout: `upgraded ${path}: ${OLD} -> ${NEW}\n` });
    },
  );
});

describe("failures: exit 1, one line, the installed binary byte for byte unchanged", () => {
  // Each case is a function of the server's origin, known only once it listens.
  const cases: [string, string[], () => Record<string, string>, () => RegExp][] = [
    [
      "an unknown version",
      ["9.9.9"],
      () => ({}),
      () =>
        re(
          /^upcat: upgrade: there is no release 9\.9\.9 /,
          /\(http:\/\/127\.0\.0\.1:\d+\/download\/v9\.9\.9\/VERSION: not found\)\n$/,
        ),
    ],
    [
      "a missing asset",
      [],
      () => ({ UPCAT_BASE_URL: `${origin}/missing` }),
      () =>
        new RegExp(
          `^upcat: upgrade: download ${origin}/missing/${ASSET}: not found \\(HTTP 404\\): this release has no such ` +
            `asset\\n$`,
        ),
    ],
    [
      "an asset SHA256SUMS does not list",
      [],
      () => ({ UPCAT_BASE_URL: `${origin}/unlisted` }),
      () =>
        new RegExp(
          `^upcat: upgrade: ${origin}/unlisted/SHA256SUMS has no line for ${ASSET}: .*nothing was replaced\\n$`,
        ),
    ],
    [
      "a checksum that does not match",
      [],
      () => ({ UPCAT_BASE_URL: `${origin}/fault/corrupt/latest/download` }),
      () =>
        re(
          /^upcat: upgrade: checksum mismatch for \S+: SHA256SUMS says [0-9a-f]{64}, /,
          /the download is [0-9a-f]{64}; .*nothing was replaced\n$/,
        ),
    ],
    [
      "a truncated download",
      [],
      () => ({ UPCAT_BASE_URL: `${origin}/fault/truncate/latest/download` }),
      () =>
        re(
          /^upcat: upgrade: download \S+: /,
          /(got \d+ of \d+ bytes \(the download was cut short; try again\)|.+ \(the connection broke; try again\))\n$/,
        ),
    ],
    [
      "a server that stalls",
      ["--timeout", "1s"],
      () => ({ UPCAT_BASE_URL: `${origin}/fault/stall/latest/download` }),
      () => /^upcat: upgrade: download \S+: no data for 1s \(the server stalled; try again, or raise --timeout\)\n$/,
    ],
    [
      "an endless asset",
      [],
      () => ({ UPCAT_BASE_URL: `${origin}/fault/endless/latest/download` }),
      () => /^upcat: upgrade: download \S+: more than 256 MiB, which no release binary is; stopped there\n$/,
    ],
    [
      "a new binary whose --version leaves a child holding its stdout",
      [],
      () => ({ UPCAT_BASE_URL: `${origin}/forks` }),
      () =>
        re(
          /^upcat: upgrade: the downloaded binary's --version left a process holding its output /,
          /\(it printed "upcat \S+ \(forks\)"\); it was killed; nothing was replaced\n$/,
        ),
    ],
    [
      "no network (a refused connection)",
      [],
      () => ({ UPCAT_RELEASES_URL: "http://127.0.0.1:9" }),
      () =>
        re(
          /^upcat: upgrade: download http:\/\/127\.0\.0\.1:9\/latest\/download\/VERSION: connection refused /,
          /\(check the network, or point UPCAT_BASE_URL at a mirror\)\n$/,
        ),
    ],
    [
      "a mirror that holds another version",
      [OLD],
      () => ({ UPCAT_BASE_URL: `${origin}/latest/download` }),
      () =>
        new RegExp(
          `^upcat: upgrade: UPCAT_BASE_URL holds release ${NEW.replaceAll(".", "\\.")}, not ` +
            `${OLD.replaceAll(".", "\\.")}: .*\\n$`,
        ),
    ],
  ];

  test.each(cases)("%s", async (_name, args, env, message) => {
    const path = installed(oldBinary);
    const started = performance.now();
    const r = await upcat(path, args, env());
    expect(r.stderr).toMatch(message());
    expect(r).toMatchObject({ status: 1, stdout: "" });
    expect(await sha(path)).toBe(hashOf(oldBinary));
    expect(readdirSync(join(path, ".."))).toEqual(["upcat"]);
    expect(await versionOf(path)).toStartWith(`upcat ${OLD} (`);
    // The stall is cut by --timeout 1s, not by the server's minute; the forked child did not hold upgrade.
    expect(performance.now() - started).toBeLessThan(20_000);
    // Nothing a trial run started outlives upgrade: the child was killed with its process group.
    await waitFor(`no ${SLEEP_MARK} left running`, () => !sleepers(), 2000);
  });

  test("a folder the user cannot write: refused before anything is downloaded", async () => {
    const path = installed(oldBinary);
    // Root may write anywhere, so run as nobody, as a user upgrading a binary root installed.
    const setpriv = requireTool("setpriv");
    const r = await upcat(path, [], {}, [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--", path]);
    expect(r.stderr).toBe(
      `upcat: upgrade: cannot write in ${join(path, "..")} (EACCES): run upgrade as the user who installed ${path}, ` +
        `or reinstall with install.sh\n`,
    );
    expect(r).toMatchObject({ status: 1, stdout: "" });
    expect(await sha(path)).toBe(hashOf(oldBinary));
    expect(readdirSync(join(path, ".."))).toEqual(["upcat"]);
  });
});

test.each([
  [["1.x"], 'upcat: invalid VERSION: "1.x" (expected a release such as 0.3.0 or v0.3.0)\n'],
  [["--timeout", "soon"], 'upcat: invalid duration for --timeout: "soon" (expected e.g. 500ms, 2s, 1m)\n'],
  [["--check", "--dry-run"], "upcat: --check and --dry-run cannot be used together\n"],
])("a wrong command line %p: exit 2 with one line naming it", async (args, line) => {
  const path = installed(oldBinary);
  const r = await upcat(path, args);
  expect(r).toMatchObject({ status: 2, stdout: "", stderr: line });
  expect(await sha(path)).toBe(hashOf(oldBinary));
});

test("a baseline binary asks for the baseline asset: the target it embeds, not the machine, decides", async () => {
  // The suite runs on x64 (CI: ubuntu-24.04), where the baseline build runs natively.
  const path = installed(await Bun.file(await targetRelease("linux-x64-baseline")).bytes());
  const r = await upcat(path, ["--dry-run"]);
  // The loopback release has the host's asset only, so the baseline binary finds no line for its own.
  expect(r.stderr).toBe(
    `upcat: upgrade: ${origin}/latest/download/SHA256SUMS has no line for upcat-linux-x64-baseline: this release ` +
      `has no binary for this machine; nothing was replaced\n`,
  );
  expect(r.status).toBe(1);
}, 120_000);

test("the two releases are different files, so the byte checks above tell them apart", () => {
  expect(hashOf(newBinary)).not.toBe(hashOf(oldBinary));
});

test.each(["SIGINT", "SIGTERM"] as const)(
  "%s half-way through a download: the staged file is removed and the signal ends upcat",
  async (signal) => {
    const path = installed(oldBinary);
    const proc = Bun.spawn([path, "upgrade"], {
      env: { PATH: emptyPath(), HOME: SCRATCH, UPCAT_BASE_URL: `${origin}/fault/stall/latest/download`, NO_COLOR: "1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    // The stalling server sends 64 KiB and then nothing: wait until they are in the staged file.
    const staged = () => readdirSync(join(path, "..")).filter((f) => f !== "upcat");
    const until = Date.now() + 20_000;
    while (Date.now() < until && !(staged().length === 1 && statSync(join(path, "..", staged()[0]!)).size > 0))
      await Bun.sleep(20);
    expect(staged()).toEqual([`.upcat.upgrade-${proc.pid}`]);
    proc.kill(signal);
    expect(await proc.exited).toBe(128 + (signal === "SIGINT" ? 2 : 15));
    expect(proc.signalCode).toBe(signal);
    expect(readdirSync(join(path, ".."))).toEqual(["upcat"]);
    expect(await sha(path)).toBe(hashOf(oldBinary));
  },
);
