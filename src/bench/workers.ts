// `bench --workers N`: N load processes of this same program, each with its own sockets (so its own
// source ports, which SO_REUSEPORT servers spread by), started together; the parent adds their figures up.
import { NetError, type NetErrorFields } from "../errors.ts";
import { parentGone, parentSaysGo, tellParent, type ToParent, WorkerPool } from "../workers/pool.ts";
import { type BenchOptions, type BenchPart, type BenchResult, loadPart, shareOf, summarize } from "./load.ts";

/** BenchWorkerPart is a bench worker's part of the plan: the address the parent resolved, and its share. */
export interface BenchWorkerPart {
  address: string;
  concurrency: number;
}

/** Progress is what a bench worker has counted so far; Done its figures, and why it has none where it failed. */
type Progress = { replies: number; errors: number };
type Done = { part: BenchPart; failure?: { net?: NetErrorFields; message?: string } };
type ToBenchParent = ToParent<null, Progress, Done>;

/** GRACE_MS is how long past its duration and timeout a worker may take to report before it counts as hung. */
const GRACE_MS = 15_000;

/** BenchWorkerError is a worker that died or hung: the figures are not whole, so there are none. */
export class BenchWorkerError extends Error {
  override name = "BenchWorkerError";
}

/**
 * runWorkers starts `workers` processes with `argv` (this program, this command line), lets them open
 * their sockets, starts their load at once, and merges what they measured. A worker that dies or hangs
 * fails the run (BenchWorkerError); a network failure with no reply at all anywhere is thrown as the
 * NetError it was.
 */
export async function runWorkers(
  opts: BenchOptions,
  address: string,
  workers: number,
  argv: readonly string[],
): Promise<BenchResult> {
  const parts: (BenchPart | undefined)[] = new Array(workers);
  const failures: unknown[] = [];
  const said = new Set<number>();
  const isReady = (index: number) => {
    said.add(index);
    if (said.size === workers) allReady.resolve();
  };
  let done = 0;
  const allReady = Promise.withResolvers<void>();
  const allDone = Promise.withResolvers<void>();
  const broken = Promise.withResolvers<never>();
  const fail = (message: string) => broken.reject(new BenchWorkerError(message));
  const pool = new WorkerPool<BenchWorkerPart, null, Progress, Done>({
    workers,
    part: (index) => ({ address, concurrency: shareOf(opts.concurrency, workers, index) }),
    argv,
    stdout: "ignore",
    onMessage(index, message) {
      if (message.type === "ready") isReady(index);
      else if (message.type === "done" && !parts[index]) {
        // A worker that could open no socket reports without having been ready.
        isReady(index);
        parts[index] = message.done.part;
        if (message.done.failure?.net) failures.push(new NetError(message.done.failure.net));
        else if (message.done.failure) failures.push(new Error(message.done.failure.message));
        if (++done === workers) allDone.resolve();
      }
    },
    onExit(index, code, signal) {
      if (parts[index]) return;
      const how = signal ? `signal ${signal}` : `status ${code}`;
      const died = () => {
        if (!parts[index]) fail(`bench worker ${index} exited (${how}) before it reported; no figures`);
      };
      // Its last message may still be on its way when a worker ends well.
      if (code === 0) setTimeout(died, 500);
      else died();
    },
  });
  pool.startAll();
  broken.promise.catch(() => {});
  let ticker: ReturnType<typeof setInterval> | undefined;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([allReady.promise, broken.promise]);
    // A worker that could open no socket has reported (and may have ended) already.
    for (let index = 0; index < workers; index++) if (!parts[index]) pool.send(index, { type: "go" });
    const started = performance.now();
    if (opts.onProgress)
      ticker = setInterval(
        () =>
          opts.onProgress!({
            elapsedMs: performance.now() - started,
            replies: pool.counted().reduce((n, p) => n + p.replies, 0),
            errors: pool.counted().reduce((n, p) => n + p.errors, 0),
          }),
        250,
      );
    const limitMs = opts.durationMs + 2 * opts.timeoutMs + GRACE_MS;
    deadline = setTimeout(() => {
      const late = parts.flatMap((p, i) => (p ? [] : [i]));
      fail(`bench worker ${late.join(", ")} did not report within ${Math.round(limitMs / 1000)}s; no figures`);
    }, limitMs);
    await Promise.race([allDone.promise, broken.promise]);
  } finally {
    clearInterval(ticker);
    clearTimeout(deadline);
    pool.kill("SIGKILL");
  }
  const merged = parts as BenchPart[];
  if (merged.every((p) => p.replies === 0) && failures.length > 0) throw failures[0];
  return summarize(opts, address, merged);
}

/**
 * benchAsWorker is one of runWorkers's processes: it opens its share of the sockets, says so, starts
 * on the parent's word, and sends back its raw figures (every latency, so that percentiles merge exactly).
 */
export async function benchAsWorker(opts: BenchOptions, part: BenchWorkerPart): Promise<number> {
  const tell = (message: ToBenchParent) => tellParent(message);
  const go = parentSaysGo();
  // A parent that died (SIGKILL) will never say go nor read the figures: no orphan waits or loads for it.
  let reported = false;
  void parentGone().then(() => reported || process.exit(1));
  const { part: figures, failure } = await loadPart(
    {
      ...opts,
      concurrency: part.concurrency,
      onProgress: (p) => void tell({ type: "counters", counters: { replies: p.replies, errors: p.errors } }),
      ready: async () => {
        await tell({ type: "ready", ready: null });
        await go;
      },
    },
    part.address,
  );
  const described =
    failure === undefined
      ? undefined
      : failure instanceof NetError
        ? { net: failure.fields() }
        : { message: failure instanceof Error ? failure.message : String(failure) };
  await tell({ type: "done", done: { part: figures, failure: described } });
  reported = true;
  process.disconnect?.();
  return 0;
}
