// One pool of worker processes for every `--workers` (serve, relay, bench): N copies of this same program with the
// same command line, each told its plan in one environment variable, speaking one set of messages over IPC; the pool
// restarts one with backoff when asked and keeps the counters each last reported, the dead ones' included.
import type { Subprocess } from "bun";

/** WORKER_ENV carries a worker's WorkerPlan as JSON; a process that has it is a worker. */
export const WORKER_ENV = "UPCAT_WORKER";

/** WorkerPlan is what the parent tells a worker at its start: which one it is, of how many, and the command's part. */
export interface WorkerPlan<P> {
  index: number;
  workers: number;
  part: P;
}

/** workerPlan is this process's plan when it is a worker, undefined when it is not. */
export function workerPlan<P>(): WorkerPlan<P> | undefined {
  const text = process.env[WORKER_ENV];
  return text === undefined ? undefined : (JSON.parse(text) as WorkerPlan<P>);
}

/**
 * ToParent is what a worker says over IPC: it is ready (R: where it listens), what it has counted so far (C), and
 * what it did in the end (D). ToWorker is what the parent says: go (bench starts its load together).
 */
export type ToParent<R, C, D> =
  | { type: "ready"; ready: R }
  | { type: "counters"; counters: C }
  | { type: "done"; done: D };
export type ToWorker = { type: "go" };

/** FIRST_BACKOFF_MS, doubled at each death in a row up to MAX_BACKOFF_MS; a worker that lived STABLE_MS resets it. */
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
const STABLE_MS = 10_000;

/**
 * workerArgv is how this program starts itself again: a compiled binary's argv[1] is its embedded entry, not a file.
 */
export function workerArgv(): string[] {
  const embedded = process.argv[1]?.startsWith("/$bunfs/") ?? false;
  return embedded
    ? [process.execPath, ...process.argv.slice(2)]
    : [process.execPath, process.argv[1]!, ...process.argv.slice(2)];
}

/** PoolOptions say how many workers, each one's part of the plan, and what to do with what they say and their end. */
export interface PoolOptions<P, R, C, D> {
  workers: number;
  part(index: number): P;
  /** argv starts a worker: this program and its command line unless given. */
  argv?: readonly string[];
  /** stdout: a server's workers write to the parent's; bench's write nothing there (the parent prints the figures). */
  stdout: "inherit" | "ignore";
  onMessage(index: number, message: ToParent<R, C, D>): void;
  onExit(index: number, code: number | null, signal: NodeJS.Signals | number | null): void;
}

/** WorkerPool runs the workers; a worker's stderr is the parent's. */
export class WorkerPool<P, R, C, D> {
  private readonly procs: (Subprocess | undefined)[];
  private readonly startedAt: number[];
  /** latest are the counters each live worker last reported; gone those of workers that died since. */
  private readonly latest: (C | undefined)[];
  private gone: C[] = [];
  private deathsInRow = 0;
  /** restarts counts the workers restarted after dying. */
  restarts = 0;
  /** stopping: no restart is started any more. */
  stopping = false;

  constructor(private readonly o: PoolOptions<P, R, C, D>) {
    this.procs = new Array(o.workers);
    this.startedAt = new Array(o.workers).fill(0);
    this.latest = new Array(o.workers);
  }

  /** startAll starts every worker. */
  startAll(): void {
    for (let index = 0; index < this.o.workers; index++) this.start(index);
  }

  private start(index: number): void {
    const plan: WorkerPlan<P> = { index, workers: this.o.workers, part: this.o.part(index) };
    this.startedAt[index] = performance.now();
    this.procs[index] = Bun.spawn([...(this.o.argv ?? workerArgv())], {
      env: { ...process.env, [WORKER_ENV]: JSON.stringify(plan) },
      stdin: "ignore",
      stdout: this.o.stdout,
      stderr: "inherit",
      ipc: (message: ToParent<R, C, D>) => {
        if (message.type === "counters") this.latest[index] = message.counters;
        this.o.onMessage(index, message);
      },
      onExit: (_proc, code, signal) => {
        this.procs[index] = undefined;
        this.o.onExit(index, code, signal);
      },
    });
  }

  /** alive says whether worker `index` runs (a dead one waiting for its restart does not). */
  alive(index: number): boolean {
    return this.procs[index] !== undefined;
  }

  /** record keeps what a worker counted when it says so outside a counters message (its last, in its done). */
  record(index: number, counters: C): void {
    this.latest[index] = counters;
  }

  /** counted is every worker's last counters, those of the dead included: for the caller to add up. */
  counted(): C[] {
    return [...this.gone, ...this.latest.filter((c): c is C => c !== undefined)];
  }

  /**
   * restart starts worker `index` again after a backoff (doubled at each death in a row, reset by one that lived
   * STABLE_MS), keeps what it had counted, and returns the wait in milliseconds.
   */
  restart(index: number): number {
    this.retire(index);
    if (performance.now() - this.startedAt[index]! > STABLE_MS) this.deathsInRow = 0;
    const wait = Math.min(FIRST_BACKOFF_MS * 2 ** this.deathsInRow++, MAX_BACKOFF_MS);
    this.restarts++;
    setTimeout(() => {
      if (!this.stopping) this.start(index);
    }, wait);
    return wait;
  }

  /** retire moves a dead worker's last counters among the gone, so that a restarted one starts from zero. */
  retire(index: number): void {
    const last = this.latest[index];
    if (last !== undefined) this.gone = [...this.gone, last];
    this.latest[index] = undefined;
  }

  /** send says something to worker `index`, if it runs. */
  send(index: number, message: ToWorker): void {
    this.procs[index]?.send(message);
  }

  /** kill sends a signal to every worker that runs. */
  kill(signal: NodeJS.Signals): void {
    for (const p of this.procs) p?.kill(signal);
  }
}

/**
 * tellParent sends a message to the parent and resolves once it is on its way; once the parent is gone (SIGKILL,
 * the OOM killer) there is no one to tell, and it resolves at once (a send would throw).
 */
export function tellParent<R, C, D>(message: ToParent<R, C, D>): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(message, undefined, undefined, () => resolve());
  });
}

/** parentSaysGo resolves when the parent says go. */
export function parentSaysGo(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.on("message", (message: ToWorker) => {
      if (message.type === "go") resolve();
    });
  });
}

/**
 * parentGone resolves when the IPC channel to the parent closes: the parent died without passing SIGTERM on (SIGKILL,
 * the OOM killer). A worker then stops as if told to, so no orphan keeps the port or loads for no one.
 */
export function parentGone(): Promise<string> {
  return new Promise((resolve) => process.once("disconnect", () => resolve("parent gone")));
}
