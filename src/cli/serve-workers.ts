// `serve --workers N`: N processes of this same binary on the same ports (SO_REUSEPORT, Linux), one
// core each. The parent binds nothing: it starts the workers, restarts one that dies, passes the
// stopping signal on, and speaks for them all (the ready line, --stats, the last line).
import type { Subprocess } from "bun";
import type { Counters } from "../transport/listener.ts";
import type { Io } from "./io.ts";
import { type LogFormat, type Running, ServeLog, sum } from "./serve-log.ts";

/** WORKER_ENV names the worker's index in a worker's environment; PORTS_ENV the ports the parent chose. */
export const WORKER_ENV = "UPCAT_WORKER";
export const PORTS_ENV = "UPCAT_WORKER_PORTS";

/** FIRST_BACKOFF_MS, doubled at each death in a row up to MAX_BACKOFF_MS; a worker that lived STABLE_MS resets it. */
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
const STABLE_MS = 10_000;

/** WorkerMessage is what a worker tells its parent over IPC. */
export type WorkerMessage =
  | { type: "listening"; running: Running[] }
  | { type: "counters"; counters: Counters }
  | { type: "stopped"; cut: number; counters: Counters };

export interface WorkerPlan {
  workers: number;
  /** ports maps each protocol to its port, chosen by the parent when the command line said 0. */
  ports: Record<string, number>;
  log: LogFormat;
  allow: string | undefined;
  statsMs: number | undefined;
}

interface Worker {
  proc: Subprocess;
  startedAt: number;
  /**
   * listening: the worker has bound its ports; one that dies before is not restarted (a bind that fails fails again).
   */
  listening: boolean;
  /** counters are the worker's last report; a dead worker's are kept in `gone`. */
  counters?: Counters;
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

/** superviseWorkers runs the workers until a signal has stopped them all, and returns the exit status. */
export async function superviseWorkers(plan: WorkerPlan, io: Io, nextSignal: () => Promise<string>): Promise<number> {
  const log = new ServeLog(io, plan.log);
  const workers: (Worker | undefined)[] = new Array(plan.workers);
  let gone: Counters[] = [];
  let stopping = false;
  let restarts = 0;
  let deathsInRow = 0;
  const ready = Promise.withResolvers<Running[]>();
  const exited = new Set<number>();
  const failed = Promise.withResolvers<number>();
  let allExited = Promise.withResolvers<void>();

  const totals = () => sum([...gone, ...workers.flatMap((w) => (w?.counters ? [w.counters] : []))]);
  const start = (index: number) => {
    const proc = Bun.spawn(workerArgv(), {
      env: { ...process.env, [WORKER_ENV]: String(index), [PORTS_ENV]: JSON.stringify(plan.ports) },
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
      ipc(message: WorkerMessage) {
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
        // It said why on stderr (address in use, permission denied): the others will fare no better.
        if (!w?.listening) return failed.resolve(code || 1);
        if (performance.now() - w.startedAt > STABLE_MS) deathsInRow = 0;
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
  if (running) log.listening(running, plan.allow, plan.workers);
  const ticker = plan.statsMs === undefined ? undefined : setInterval(() => log.stats(totals()), plan.statsMs);
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
  log.stopped(signal, cut, totals(), restarts);
  await io.flush();
  return 0;
}
