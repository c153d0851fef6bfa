// A server's `--workers N` (serve, relay): N processes on the same ports (SO_REUSEPORT, Linux), one core each. The
// parent binds nothing: it starts the workers, restarts one that dies, passes the stopping signal on, and speaks for
// them all (the ready line, --stats, the last line); each worker drains as a lone server would.
import { parentGone, tellParent, WorkerPool } from "./pool.ts";

/** WORKER_REPORT_MS is how often a worker tells its parent its counters when --stats does not say. */
export const WORKER_REPORT_MS = 1000;

/** Stderr is where the parent says that a worker died, and how it waits for what it wrote to be out. */
export interface Stderr {
  err(line: string): void;
  flush(): Promise<unknown>;
}

/** Done is a server worker's last word: the connections its drain cut, and its last counters. */
export interface Done<T> {
  cut: number;
  counters: T;
}

/** Voice is what the parent says for all its workers (R: where one listens), and how it adds up what each counted. */
export interface Voice<R, T> {
  sum(all: readonly T[]): T;
  listening(running: R, workers: number): void;
  stats(total: T): void;
  stopped(signal: string, cut: number, total: T, restarts: number): void;
  /** watch is given the sum of what the workers last reported, to read whenever it likes (--metrics). */
  watch?(totals: () => T): void;
}

/** SupervisePlan is the command's side of the pool: how many workers, each one's part, and how often to --stats. */
export interface SupervisePlan<P> {
  workers: number;
  part: P;
  statsMs: number | undefined;
}

/**
 * superviseWorkers runs the workers until a signal has stopped them all, and returns the exit status; `voice`
 * speaks for them. A worker that exits before it listens (a bind that fails fails again) ends them all with its
 * status; one that dies later, or is killed by a signal before it listened (the OOM killer), is restarted.
 */
export async function superviseWorkers<P, R, T>(
  plan: SupervisePlan<P>,
  stderr: Stderr,
  nextSignal: () => Promise<string>,
  voice: Voice<R, T>,
): Promise<number> {
  const listening: boolean[] = new Array(plan.workers).fill(false);
  const cuts: number[] = new Array(plan.workers).fill(0);
  const ready = Promise.withResolvers<R>();
  const exited = new Set<number>();
  const failed = Promise.withResolvers<number>();
  const allExited = Promise.withResolvers<void>();

  const pool: WorkerPool<P, R, T, Done<T>> = new WorkerPool({
    workers: plan.workers,
    part: () => plan.part,
    stdout: "inherit",
    onMessage(index, message) {
      if (message.type === "ready") {
        listening[index] = true;
        ready.resolve(message.ready);
      } else if (message.type === "done") {
        pool.record(index, message.done.counters);
        cuts[index] = message.done.cut;
      }
    },
    onExit(index, code, signal) {
      if (pool.stopping) {
        exited.add(index);
        if (exited.size === plan.workers) allExited.resolve();
        return;
      }
      const wasListening = listening[index];
      listening[index] = false;
      // It said why on stderr (address in use, permission denied): the others will fare no better. One killed by a
      // signal before it listened (the OOM killer, a kill) failed no bind: it is restarted like any other.
      if (!wasListening && !signal) {
        pool.retire(index);
        return failed.resolve(code || 1);
      }
      const wait = pool.restart(index);
      const how = signal ? `signal ${signal}` : `status ${code}`;
      const n = pool.restarts;
      stderr.err(`upcat: worker ${index} exited (${how}); restarting in ${wait}ms (${n} restart${n === 1 ? "" : "s"})`);
    },
  });
  const totals = () => voice.sum(pool.counted());
  voice.watch?.(totals);
  pool.startAll();

  const first = nextSignal();
  const running = await Promise.race([
    ready.promise.then((r) => ({ r })),
    first.then(() => undefined),
    failed.promise.then(() => undefined),
  ]);
  if (running) voice.listening(running.r, plan.workers);
  const ticker = plan.statsMs === undefined ? undefined : setInterval(() => voice.stats(totals()), plan.statsMs);
  const signal = await Promise.race([first, failed.promise]);
  clearInterval(ticker);
  pool.stopping = true;
  if (typeof signal === "number") {
    pool.kill("SIGKILL");
    return signal;
  }
  for (let index = 0; index < plan.workers; index++) if (!pool.alive(index)) exited.add(index);
  if (exited.size === plan.workers) allExited.resolve();
  // Each worker drains as a lone server would; a second signal, passed on too, cuts them short.
  pool.kill("SIGTERM");
  void nextSignal().then(() => pool.kill("SIGTERM"));
  await allExited.promise;
  const cut = cuts.reduce((n, c) => n + c, 0);
  voice.stopped(signal, cut, totals(), pool.restarts);
  await stderr.flush();
  return 0;
}

/** WorkerLife is a worker's side of the bargain: where it listens, what it counts, and how it drains. */
export interface WorkerLife<R, T> {
  running: R;
  counters(): T;
  /** reportMs: how often the counters go to the parent. */
  reportMs: number;
  /** drain lets what is in progress finish once the parent says stop; `cutShort` is a second SIGTERM. */
  drain(cutShort: Promise<string>): Promise<number>;
}

/**
 * workForParent is a worker's life once it has bound its ports: it tells the parent where it listens, sends its
 * counters every reportMs, and stops on the parent's SIGTERM alone (a terminal's Ctrl-C reaches the whole group: the
 * parent decides) or when the parent is gone, drains, and sends its last counters. It resolves with the exit status.
 */
export async function workForParent<R, T>(
  life: WorkerLife<R, T>,
  stderr: Stderr,
  nextSignal: (names: NodeJS.Signals[]) => Promise<string>,
): Promise<number> {
  process.on("SIGINT", () => {});
  const stop = Promise.race([nextSignal(["SIGTERM"]), parentGone()]);
  void tellParent<R, T, Done<T>>({ type: "ready", ready: life.running });
  const ticker = setInterval(
    () => void tellParent<R, T, Done<T>>({ type: "counters", counters: life.counters() }),
    life.reportMs,
  );
  await stop;
  clearInterval(ticker);
  const cut = await life.drain(nextSignal(["SIGTERM"]));
  void tellParent<R, T, Done<T>>({ type: "done", done: { cut, counters: life.counters() } });
  await stderr.flush();
  // The last message must reach the parent before this process ends.
  await Bun.sleep(20);
  return 0;
}
