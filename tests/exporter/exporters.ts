// The two exporters the tests put side by side: `upcat exporter` from source, and Debian's Blackbox exporter, each on a
// free loopback port, with the text of their answers read into series.
import type { Subprocess } from "bun";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, requireTool, waitForListening } from "../support/peers.ts";
import { type Command, fromSource } from "../support/run.ts";
import { spawnUntil } from "../support/stderr-until.ts";
import { terminate } from "../support/wait.ts";

/** Exporter is a started exporter: where it listens, and how to stop it. */
export interface Exporter {
  port: number;
  base: string;
  proc: Subprocess;
  /** stop sends SIGTERM and resolves with the exit status. */
  stop(): Promise<number>;
  /** stderr is what it printed on stderr after its ready line (read once it has exited). */
  stderr(): Promise<string>;
}

/** startUpcat runs `upcat exporter --listen 127.0.0.1:0 ARGS` and resolves once its ready line names the port. */
export async function startUpcat(args: string[] = [], cmd: Command = fromSource): Promise<Exporter> {
  const { proc, head, rest } = await spawnUntil([...cmd.argv, "exporter", "--listen", "127.0.0.1:0", ...args], {
    env: { ...cmd.env, NO_COLOR: "1" },
    timeoutMs: 10_000,
  });
  const match = /listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(head);
  if (!match) {
    proc.kill("SIGKILL");
    throw new Error(`upcat exporter did not start: ${head.trim() || `exit ${await proc.exited}`}`);
  }
  const port = Number(match[1]);
  return { port, base: `http://127.0.0.1:${port}`, proc, stop: () => terminate(proc, 5000), stderr: rest };
}

/** startBlackbox runs Debian's prometheus-blackbox-exporter with `config` (YAML) on a free loopback port. */
export async function startBlackbox(dir: string, config: string): Promise<Exporter> {
  const bin = requireTool("prometheus-blackbox-exporter");
  const file = join(dir, "blackbox.yml");
  writeFileSync(file, config);
  const port = await freePort();
  const proc = Bun.spawn([bin, `--config.file=${file}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  await Promise.race([
    waitForListening("tcp", port, 10_000),
    proc.exited.then(async (code) => {
      throw new Error(`blackbox exited with ${code}: ${await new Response(proc.stderr).text()}`);
    }),
  ]);
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    proc,
    async stop() {
      proc.kill("SIGTERM");
      return proc.exited;
    },
    stderr: () => new Response(proc.stderr).text(),
  };
}

/** Answer is one HTTP answer: its status, and its body. */
export interface Answer {
  status: number;
  text: string;
  contentType: string | null;
}

/** get asks an exporter, as Prometheus does (with its scrape timeout header), bounded in time. */
export async function get(url: string, scrapeTimeoutS = 5, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(url, {
    headers: { "X-Prometheus-Scrape-Timeout-Seconds": String(scrapeTimeoutS), ...headers },
    signal: AbortSignal.timeout(15_000),
  });
  return { status: r.status, text: await r.text(), contentType: r.headers.get("content-type") };
}

/** openFds counts a process's open file descriptors (Linux /proc): sockets that leak show here. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** probeUrl is the /probe URL of an exporter for a target and a module (none: the parameter is left out). */
export function probeUrl(exporter: Exporter, target: string, module?: string, debug = false): string {
  const params = new URLSearchParams({ target });
  if (module !== undefined) params.set("module", module);
  if (debug) params.set("debug", "true");
  return `${exporter.base}/probe?${params}`;
}

/** series reads the text format into "name{labels}" → value, the labels as written. */
export function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(\S+?(?:\{.*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** promtoolCheck runs `promtool check metrics` on an answer: its lint, with the status and what it said. */
export function promtoolCheck(text: string): { status: number; said: string } {
  const r = Bun.spawnSync([requireTool("promtool"), "check", "metrics"], { stdin: new Blob([text]), timeout: 10_000 });
  return { status: r.exitCode ?? -1, said: `${r.stdout}${r.stderr}` };
}

/** Started is an upcat server with --metrics: its first lines on stderr, its ports, and the metrics URL. */
export interface Started {
  proc: Subprocess<"ignore", "ignore", "pipe">;
  lines: string[];
  port: number;
  metrics: string;
}

/** startServing runs `upcat ARGS` (serve or relay with --metrics) until its ready and metrics lines are out. */
export async function startServing(args: string[]): Promise<Started> {
  const { proc, head } = await spawnUntil([...fromSource.argv, ...args], {
    env: { ...fromSource.env, NO_COLOR: "1" },
    until: /metrics on \S+\n/,
    timeoutMs: 10_000,
  });
  const port = /(?:serving \S+ on (?:tcp|udp)|relaying tcp) 127\.0\.0\.1:(\d+)/.exec(head);
  const metrics = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)\n/.exec(head);
  if (!port || !metrics) throw new Error(`upcat ${args.join(" ")} did not start: ${head}`);
  return { proc, lines: head.trim().split("\n"), port: Number(port[1]), metrics: metrics[1]! };
}

/** talk sends a line over TCP and reads the reply to the server's close. */
export async function talk(port: number, line: string): Promise<string> {
  const { promise, resolve } = Promise.withResolvers<string>();
  let got = "";
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { data: (_, d) => void (got += d.toString()), close: () => resolve(got), error: () => resolve(got) },
  });
  socket.write(line);
  socket.shutdown();
  return promise;
}
