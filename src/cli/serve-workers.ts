// `serve --workers N` and `relay --workers N`: N processes of this same binary on the same ports (SO_REUSEPORT,
// Linux), one core each. The parent binds nothing: it starts the workers, restarts one that dies, passes the
// stopping signal on, and speaks for them all (the ready line, --stats, the last line).
import type { Subprocess } from "bun";
import type { Counters } from "../transport/listener.ts";
import type { Io } from "./io.ts";
import type { Running } from "./serve-log.ts";

/** WORKER_ENV names the worker's index in a worker's environment; PORTS_ENV the ports the parent chose. */
export const WORKER_ENV = "UPCAT_WORKER";
export const PORTS_ENV = "UPCAT_WORKER_PORTS";

/** FIRST_BACKOFF_MS, doubled at each death in a row up to MAX_BACKOFF_MS; a worker that lived STABLE_MS resets it. */
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
const STABLE_MS = 10_000;

/** WORKER_REPORT_MS is how often a worker tells its parent its counters when --stats does not say. */
export const WORKER_REPORT_MS = 1000;

/** WorkerMessage is what a worker tells its parent over IPC; T is what it counts (serve's Counters by default). */
export type WorkerMessage<T = Counters> =
  | { type: "listening"; running: Running[] }
  | { type: "counters"; counters: T }
  | { type: "stopped"; cut: number; counters: T };

/** Voice is what the parent says for all its workers, and how it adds up what each counted. */
export interface Voice<T> {
  sum(all: readonly T[]): T;
  listening(running: Running[], workers: number): void;
  stats(total: T): void;
  stopped(signal: string, cut: number, total: T, restarts: number): void;
}

export interface WorkerPlan {
  workers: number;
  /** ports maps each protocol to its port, chosen by the parent when the command line said 0. */
  ports: Record<string, number>;
  statsMs: number | undefined;
  /** env is more for each worker's environment beside WORKER_ENV and PORTS_ENV (relay: the target's address). */
  env?: Record<string, string>;
}

interface Worker<T> {
  proc: Subprocess;
  startedAt: number;
  /**
   * listening: the worker has bound its ports; one that exits before is not restarted (a bind that fails fails
   * again); one killed by a signal before is.
   */
  listening: boolean;
  /** counters are the worker's last report; a dead worker's are kept in `gone`. */
  counters?: T;
  cut: number;
}

/**
 * workerArgv is how this program starts itself again: a compiled binary's argv[1] is its embedded entry, not a file.
 */
export function workerArgv(): string[] {
  const embedded = process.argv[1]?.startsWith("/$bunfs/") ?? false;
  return embedded
    ? [process.execPath, ...process.argv.slice(2)]
    : [process.execPath, process.argv[1]!, ...process.argv.slice(2)];
}

/**
 * superviseWorkers runs the workers until a signal has stopped them all, and returns the exit status; `voice`
 * speaks for them.
 */
export async function superviseWorkers<T = Counters>(
  plan: WorkerPlan,
  io: Io,
  nextSignal: () => Promise<string>,
  voice: Voice<T>,
): Promise<number> {
  const workers: (Worker<T> | undefined)[] = new Array(plan.workers);
  let gone: T[] = [];
  let stopping = false;
  let restarts = 0;
  let deathsInRow = 0;
  const ready = Promise.withResolvers<Running[]>();
  const exited = new Set<number>();
  const failed = Promise.withResolvers<number>();
  let allExited = Promise.withResolvers<void>();

  const totals = () => voice.sum([...gone, ...workers.flatMap((w) => (w?.counters ? [w.counters] : []))]);
  const start = (index: number) => {
    const proc = Bun.spawn(workerArgv(), {
      env: { ...process.env, ...plan.env, [WORKER_ENV]: String(index), [PORTS_ENV]: JSON.stringify(plan.ports) },
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
      ipc(message: WorkerMessage<T>) {
        const w = workers[index];
        if (!w) return;
        if (message.type === "listening") {
          w.listening = true;
          ready.resolve(message.running);
        } else {
          w.counters = message.counters;
          if (message.type === "stopped") w.cut = message.cut;
        }
      },
      onExit(_proc, code, signal) {
        const w = workers[index];
        if (w?.counters && !stopping) gone = [...gone, w.counters];
        if (stopping) {
          exited.add(index);
          if (exited.size === plan.workers) allExited.resolve();
          return;
        }
        workers[index] = undefined;
        // It said why on stderr (address in use, permission denied): the others will fare no better. One killed by a
        // signal before it listened (the OOM killer, a kill) failed no bind: it is restarted like any other.
        if (!w?.listening && !signal) return failed.resolve(code || 1);
        if (w && performance.now() - w.startedAt > STABLE_MS) deathsInRow = 0;
        const wait = Math.min(FIRST_BACKOFF_MS * 2 ** deathsInRow++, MAX_BACKOFF_MS);
        restarts++;
        const how = signal ? `signal ${signal}` : `status ${code}`;
        io.err(
          `upcat: worker ${index} exited (${how}); restarting in ${wait}ms (${restarts} ` +
            `restart${restarts === 1 ? "" : "s"})`,
        );
        setTimeout(() => {
          if (!stopping) start(index);
        }, wait);
      },
    });
    workers[index] = { proc, startedAt: performance.now(), cut: 0, listening: false };
  };
  for (let index = 0; index < plan.workers; index++) start(index);

  const first = nextSignal();
  const running = await Promise.race([
    ready.promise,
    first.then(() => undefined),
    failed.promise.then(() => undefined),
  ]);
  if (running) voice.listening(running, plan.workers);
  const ticker = plan.statsMs === undefined ? undefined : setInterval(() => voice.stats(totals()), plan.statsMs);
  const signal = await Promise.race([first, failed.promise]);
  clearInterval(ticker);
  stopping = true;
  if (typeof signal === "number") {
    for (const w of workers) w?.proc.kill("SIGKILL");
    return signal;
  }
  for (let index = 0; index < plan.workers; index++) if (!workers[index]) exited.add(index);
  if (exited.size === plan.workers) allExited.resolve();
  // Each worker drains as a lone server would; a second signal, passed on too, cuts them short.
  for (const w of workers) w?.proc.kill("SIGTERM");
  void nextSignal().then(() => {
    for (const w of workers) w?.proc.kill("SIGTERM");
  });
  await allExited.promise;
  allExited = Promise.withResolvers<void>();
  const cut = workers.reduce((n, w) => n + (w?.cut ?? 0), 0);
  voice.stopped(signal, cut, totals(), restarts);
  await io.flush();
  return 0;
}

/** WorkerLife is a worker's side of the bargain: where it listens, what it counts, and how it drains. */
export interface WorkerLife<T> {
  running: Running[];
  counters(): T;
  /** reportMs: how often the counters go to the parent. */
  reportMs: number;
  /** drain lets what is in progress finish once the parent says stop; `cutShort` is a second SIGTERM. */
  drain(cutShort: Promise<string>): Promise<number>;
}

/**
 * workForParent is a worker's life once it has bound its ports: it tells the parent where it listens, sends its
 * counters every reportMs, and stops on the parent's SIGTERM alone (a terminal's Ctrl-C reaches the whole group: the
 * parent decides), drains, and sends its last counters. It resolves with the exit status.
 */
export async function workForParent<T>(
  life: WorkerLife<T>,
  io: Io,
  nextSignal: (names: NodeJS.Signals[]) => Promise<string>,
): Promise<number> {
  // Once the parent is gone (SIGKILL, the OOM killer) there is no one to tell: a send would throw.
  const tell = (message: WorkerMessage<T>) => process.connected && process.send?.(message);
  process.on("SIGINT", () => {});
  const stop = Promise.race([nextSignal(["SIGTERM"]), parentGone()]);
  tell({
    type: "listening",
    running: life.running.map((r) => ({
      protocol: r.protocol,
      listeners: r.listeners.map(({ transport, host, port }) => ({ transport, host, port })),
    })),
  });
  const ticker = setInterval(() => tell({ type: "counters", counters: life.counters() }), life.reportMs);
  await stop;
  clearInterval(ticker);
  const cut = await life.drain(nextSignal(["SIGTERM"]));
  tell({ type: "stopped", cut, counters: life.counters() });
  await io.flush();
  // The last message must reach the parent before this process ends.
  await Bun.sleep(20);
  return 0;
}

/**
 * parentGone resolves when the IPC channel to the parent closes: the parent died without passing SIGTERM on (SIGKILL,
 * the OOM killer). A worker then stops as if told to, so no orphan keeps the port, and a restarted upcat finds it free.
 */
export function parentGone(): Promise<string> {
  return new Promise((resolve) => process.once("disconnect", () => resolve("parent gone")));
}
