// What the abuse tests share: forged datagrams through a raw socket, an upcat server whose --log json stats are read as
// they come, and /proc readings.
import { fromSource } from "../support/run.ts";
import { udpEngineEnv } from "../transport/udp-engines.ts";

const FORGE = new URL("./forge.py", import.meta.url).pathname;

/** ForgeSpec is what tests/abuse/forge.py sends; every address must be inside 127.0.0.0/8. */
export interface ForgeSpec {
  dst: string;
  dport: number;
  items?: { src: string; sport: number; payload?: string; count?: number }[];
  spray?: { count: number; sport: number; payload?: string; seed?: number };
  /** seconds bounds the sending, whatever is left. */
  seconds?: number;
  /** rate paces the sending: at most this many datagrams a second. */
  rate?: number;
}

/** forge sends datagrams with forged sources (root only) and resolves with how many went and their payload bytes. */
export async function forge(spec: ForgeSpec): Promise<{ sent: number; bytes: number }> {
  if (process.getuid?.() !== 0) throw new Error("forged sources need a raw socket: run the suite as root, as CI does");
  const proc = Bun.spawn(["python3", FORGE], {
    stdin: new Blob([JSON.stringify({ seconds: 10, ...spec })]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [out, err, status] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (status !== 0) throw new Error(`forge.py failed (${status}): ${err}`);
  return JSON.parse(out);
}

/** Stats is one `stats` or `stopped` record of --log json. */
export type Stats = Record<string, number>;

/** Serving is an upcat server started from source with --log json and frequent --stats. */
export interface Serving {
  proc: Bun.Subprocess<"ignore", "ignore", "pipe">;
  /** ports maps "protocol/transport" to the bound port. */
  ports: Record<string, number>;
  /** events are the JSON records printed so far. */
  events: Record<string, unknown>[];
  /** stats is the latest stats record (zeros before the first). */
  stats(): Stats;
  /** until polls the stats until pred holds, up to ms; it returns whether it held. */
  until(pred: (s: Stats) => boolean, ms: number): Promise<boolean>;
  /** stop sends SIGTERM and resolves with the exit status and the `stopped` record, failing after ms. */
  stop(ms?: number): Promise<{ status: number; stopped: Stats }>;
}

/** serve starts `upcat serve ARGS --log json --stats 100ms` and resolves once every listener is up. */
export async function serve(args: string[], listeners: number): Promise<Serving> {
  const proc = Bun.spawn([...fromSource.argv, "serve", ...args, "--log", "json", "--stats", "100ms"], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    env: { ...fromSource.env, NO_COLOR: "1", ...udpEngineEnv() },
  });
  const events: Record<string, unknown>[] = [];
  const ports: Record<string, number> = {};
  let latest: Stats = {};
  let ended = false;
  const reading = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of proc.stderr) {
      text += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = text.indexOf("\n")) >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        let e: Record<string, unknown>;
        try {
          e = JSON.parse(line);
        } catch {
          e = { event: "text", line };
        }
        events.push(e);
        if (e.event === "listening") ports[`${e.protocol}/${e.transport}`] = e.port as number;
        if (e.event === "stats" || e.event === "stopped") latest = e as Stats;
      }
    }
    ended = true;
  })();
  const deadline = performance.now() + 15_000;
  while (Object.keys(ports).length < listeners && !ended && performance.now() < deadline) await Bun.sleep(10);
  if (Object.keys(ports).length < listeners) {
    proc.kill("SIGKILL");
    throw new Error(`server did not start: ${JSON.stringify(events)}`);
  }
  return {
    proc,
    ports,
    events,
    stats: () => latest,
    async until(pred, ms) {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        if (pred(latest)) return true;
        await Bun.sleep(20);
      }
      return pred(latest);
    },
    async stop(ms = 5000) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), ms);
      const status = await proc.exited;
      clearTimeout(timer);
      await reading;
      const stopped = events.find((e) => e.event === "stopped") as Stats | undefined;
      return { status, stopped: stopped ?? {} };
    },
  };
}

const TICK = 100; // USER_HZ on Linux: /proc/PID/stat counts CPU time in hundredths of a second

/** cpuSeconds is the CPU time a process has used so far, user and system, from /proc/PID/stat. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Bun.file(`/proc/${pid}/stat`).text();
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

/** rssBytes is a process's resident memory now, from /proc/PID/status. */
export async function rssBytes(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+) kB/.exec(await Bun.file(`/proc/${pid}/status`).text())![1]) * 1024;
}

/** udpAsk sends one datagram from a socket bound on `from` and resolves with the reply, or undefined after ms. */
export async function udpAsk(from: string, port: number, message: string, ms = 2000): Promise<string | undefined> {
  const { promise, resolve } = Promise.withResolvers<string | undefined>();
  const sock = await Bun.udpSocket({
    hostname: from,
    port: 0,
    socket: { data: (_s, d) => resolve(new TextDecoder().decode(d)), error() {} },
  });
  const timer = setTimeout(() => resolve(undefined), ms);
  sock.send(message, port, "127.0.0.1");
  const reply = await promise;
  clearTimeout(timer);
  sock.close();
  return reply;
}
