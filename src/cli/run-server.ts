// One run loop for every server (serve and relay): bind, the ready line, signals, --stats, the drain and the last
// line, whether the process runs alone, as the parent of `--workers`, or as one of its workers.
import { NetError } from "../errors.ts";
import { countersText } from "../exporter/counter-metrics.ts";
import { type MetricsServer, serveMetrics } from "../exporter/metrics-server.ts";
import { hostPort } from "../transport/address.ts";
import { drain } from "../transport/drain.ts";
import type { Counters, Listener } from "../transport/listener.ts";
import type { Io } from "./io.ts";
import { DROP_LINE_MS, type Running, ServeLog } from "./serve-log.ts";
import type { ServerBounds } from "./server-options.ts";
import { workerPlan } from "../workers/pool.ts";
import { superviseWorkers, type Voice, WORKER_REPORT_MS, workForParent } from "../workers/supervise.ts";

/** ServerPart is a server worker's part of the plan: the ports its parent chose, and the command's own (relay's). */
export type ServerPart = { ports: Record<string, number> } & Record<string, unknown>;

/** BoundServer is a server whose sockets are open: where it listens, what it counts, and what a drain waits on. */
export interface BoundServer<T> {
  running: Running[];
  listeners: readonly Listener[];
  counters(): T;
  /** open is how many connections a drain will wait for (the draining line says it; none: no line). */
  open(): number;
}

/** BindAt says where a bind happens: alone (nothing), or as worker `worker` on the ports its parent chose. */
export interface BindAt {
  worker?: number;
  ports?: Record<string, number>;
}

/** ServerProgram is what a command gives runServer: its bounds, how it binds, and what it says. */
export interface ServerProgram<T> {
  bounds: ServerBounds;
  /** bind opens the server's sockets, with SO_REUSEPORT when `at.worker` is set; `log` is the process's. */
  bind(log: ServeLog, at: BindAt): Promise<BoundServer<T>>;
  /**
   * choosePorts binds each port once, alone, and lets it go before the workers start: a port given as 0 becomes
   * the one free port every worker binds, and a port another server holds fails here (with SO_REUSEPORT a second
   * server would otherwise join the first, unseen).
   */
  choosePorts(): Promise<Record<string, number>>;
  /** voice is the ready line, --stats and the last line, for one process or for all the workers. */
  voice(log: ServeLog): Voice<Running[], T>;
  /** exposed names the groups of counters --metrics serves: `{ server }`, and relay's `{ server, relay }`. */
  exposed(total: T): Record<string, object>;
  /** part is more for each worker's plan beside the ports (relay: the target's address and the seed). */
  part?: Record<string, unknown>;
}

/**
 * LOG_BACKLOG is how much of a server's log may wait for a slow reader of stderr (a pipe or a terminal, on Linux)
 * before lines are dropped and counted: a server that waited for its log's reader would stop serving (after 248
 * connections, with `--log json` into a pipe nobody read; at once on a terminal stopped with Ctrl-S).
 */
export const LOG_BACKLOG = 1 << 20;

/** runServer runs the server until a signal has stopped it, and resolves with the exit status. */
export async function runServer<T>(program: ServerProgram<T>, io: Io): Promise<number> {
  const plan = workerPlan<ServerPart>();
  const { bounds } = program;
  // This process's log: its lines, a worker's with its index.
  const said = new ServeLog(io, bounds.log, plan === undefined ? {} : { worker: plan.index }, bounds.openFiles);
  // The last lines are written whatever they wait for: the bound is lifted at the stop.
  const lift = io.unblockPipes({ bytes: LOG_BACKLOG, dropped: (n) => said.droppedLine(n) });
  if (plan !== undefined) return runAsWorker(program, plan.index, plan.part.ports, io, said, lift);
  // Bound first: a --metrics address in use fails before any server socket opens.
  let totals: (() => T) | undefined;
  const metrics = startMetrics(program, () => totals?.());
  try {
    if (bounds.workers > 1) {
      const part: ServerPart = { ...program.part, ports: await program.choosePorts() };
      const { workers, statsMs } = bounds;
      const voice = program.voice(said);
      return await superviseWorkers({ workers, part, statsMs }, io, () => nextSignal(), {
        ...voice,
        listening(running: Running[], n: number) {
          voice.listening(running, n);
          if (metrics) metricsLine(io, bounds.log, metrics);
        },
        // The workers' sums as they last reported them (every --stats, or every second).
        watch: (sum) => (totals = sum),
        stopped(...last) {
          lift();
          voice.stopped(...last);
        },
      });
    }
    const voice = program.voice(said);
    const server = await program.bind(said, {});
    totals = () => server.counters();
    // Listening for signals before the ready line: whoever reads it may signal at once.
    const first = nextSignal();
    voice.listening(server.running, 1);
    if (metrics) metricsLine(io, bounds.log, metrics);
    const ticker =
      bounds.statsMs === undefined ? undefined : setInterval(() => voice.stats(server.counters()), bounds.statsMs);
    const drops = watchDrops(said, () => server.counters());
    const signal = await first;
    lift();
    clearInterval(ticker);
    clearInterval(drops);
    // A second signal cuts the drain short.
    said.draining(server.open(), bounds.drainMs);
    const cut = await drain(server.listeners, bounds.drainMs, nextSignal());
    // What the bounds dropped since the last line (under a second ago) is said too, not only summed in the last line.
    sayDrops(said, server.counters());
    voice.stopped(signal, cut, server.counters(), 0);
    await io.flush();
    return 0;
  } finally {
    await metrics?.stop();
  }
}

/** startMetrics serves --metrics, if asked: the counters `totals` gives, none until the server is up. */
function startMetrics<T>(program: ServerProgram<T>, totals: () => T | undefined): MetricsServer | undefined {
  const at = program.bounds.metrics;
  if (!at) return undefined;
  const render = () => {
    const total = totals();
    return total === undefined ? "" : countersText(program.exposed(total));
  };
  try {
    return serveMetrics(at.host, at.port, render);
  } catch (err) {
    throw NetError.from("listen", "tcp", hostPort(at.host, at.port), err, "is something else on it? try --metrics");
  }
}

/** metricsLine says where --metrics serves, after the ready line: a port 0 becomes the one bound. */
function metricsLine(io: Io, format: string, metrics: MetricsServer): void {
  const url = `http://${hostPort(metrics.hostname, metrics.port)}/metrics`;
  if (format === "json") io.err(JSON.stringify({ event: "metrics", url }));
  else if (format === "text") io.err(`upcat: metrics on ${url}`);
}

/**
 * runAsWorker is one of `--workers`'s processes: it binds the parent's ports with SO_REUSEPORT, tells the parent what
 * it does over IPC, logs its own events (json) with its index, and stops on the parent's SIGTERM alone.
 */
async function runAsWorker<T>(
  program: ServerProgram<T>,
  index: number,
  ports: Record<string, number>,
  io: Io,
  drops: ServeLog,
  lift: () => void,
): Promise<number> {
  const { bounds } = program;
  const log = new ServeLog(io, bounds.log === "json" ? "json" : "quiet", { worker: index });
  const server = await program.bind(log, { worker: index, ports });
  // Each worker says what its own bounds drop (its stderr is the parent's), at most a line a second.
  watchDrops(drops, () => server.counters());
  return workForParent(
    {
      // Addresses alone go over IPC, not the listeners.
      running: server.running.map((r) => ({
        protocol: r.protocol,
        listeners: r.listeners.map(({ transport, host, port }) => ({ transport, host, port })),
      })),
      counters: () => server.counters(),
      reportMs: bounds.statsMs ?? WORKER_REPORT_MS,
      async drain(cutShort) {
        lift();
        log.draining(server.open(), bounds.drainMs);
        const cut = await drain(server.listeners, bounds.drainMs, cutShort);
        // What was dropped since the last line, said before the parent's last line: out before the parent hears.
        sayDrops(drops, server.counters());
        await io.flush().catch(() => {});
        return cut;
      },
    },
    io,
    nextSignal,
  );
}

/**
 * watchDrops has the log say, once a DROP_LINE_MS, which bounds dropped UDP replies meanwhile (ServeLog.dropping).
 * `counters` is serve's Counters, or relay's { counters, relay }.
 */
function watchDrops(log: ServeLog, counters: () => unknown): ReturnType<typeof setInterval> {
  const timer = setInterval(() => sayDrops(log, counters()), DROP_LINE_MS);
  timer.unref?.();
  return timer;
}

/** sayDrops has the log say what the bounds dropped since it last said; `counters` as watchDrops takes them. */
function sayDrops(log: ServeLog, counters: unknown): void {
  const c = counters as Counters | { counters: Counters };
  log.dropping("counters" in c ? c.counters : c);
}

/** nextSignal resolves with the name of the next of these signals (SIGINT or SIGTERM). */
export function nextSignal(names: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"]): Promise<string> {
  return new Promise<string>((resolve) => {
    const handlers = names.map((name) => {
      const handler = () => {
        for (const [n, h] of handlers) process.off(n, h);
        resolve(name);
      };
      return [name, handler] as const;
    });
    for (const [n, h] of handlers) process.on(n, h);
  });
}
