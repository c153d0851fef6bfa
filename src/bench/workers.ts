// `bench --workers N`: N load processes of this same program, each with its own sockets (so its own
// source ports, which SO_REUSEPORT servers spread by), started together; the parent adds their figures up.
import { NetError, type NetErrorFields } from "../errors.ts";
import { type BenchOptions, type BenchPart, type BenchResult, loadPart, shareOf, summarize } from "./load.ts";

/** BENCH_WORKER_ENV carries a worker's BenchWorkerPlan; a process that has it is a worker. */
export const BENCH_WORKER_ENV = "UPCAT_BENCH_WORKER";

/** BenchWorkerPlan is what the parent tells a worker: which one it is, the address it resolved, and its share. */
export interface BenchWorkerPlan {
  index: number;
  address: string;
  concurrency: number;
}

/** ToParent is what a worker says over IPC; ToWorker what the parent says. */
type ToParent =
  | { type: "ready" }
  | { type: "progress"; replies: number; errors: number }
  | { type: "done"; part: BenchPart; failure?: { net?: NetErrorFields; message?: string } };
type ToWorker = { type: "go" };

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
  const progress: { replies: number; errors: number }[] = Array.from({ length: workers }, () => ({
    replies: 0,
    errors: 0,
  }));
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
  const procs = Array.from({ length: workers }, (_, index) => {
    const plan: BenchWorkerPlan = { index, address, concurrency: shareOf(opts.concurrency, workers, index) };
    return Bun.spawn([...argv], {
      env: { ...process.env, [BENCH_WORKER_ENV]: JSON.stringify(plan) },
      stdin: "ignore",
      stdout: "ignore",
      stderr: "inherit",
      ipc(message: ToParent) {
        if (message.type === "ready") isReady(index);
        else if (message.type === "progress") progress[index] = message;
        else if (!parts[index]) {
          // A worker that could open no socket reports without having been ready.
          isReady(index);
          parts[index] = message.part;
          if (message.failure?.net) failures.push(new NetError(message.failure.net));
          else if (message.failure) failures.push(new Error(message.failure.message));
          if (++done === workers) allDone.resolve();
        }
      },
      onExit(_proc, code, signal) {
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
  });
  broken.promise.catch(() => {});
  let ticker: ReturnType<typeof setInterval> | undefined;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([allReady.promise, broken.promise]);
    // A worker that could open no socket has reported (and may have ended) already.
    procs.forEach((p, index) => {
      if (!parts[index]) p.send({ type: "go" } satisfies ToWorker);
    });
    const started = performance.now();
    if (opts.onProgress)
      ticker = setInterval(
        () =>
          opts.onProgress!({
            elapsedMs: performance.now() - started,
            replies: progress.reduce((n, p) => n + p.replies, 0),
            errors: progress.reduce((n, p) => n + p.errors, 0),
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
    for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  }
  const merged = parts as BenchPart[];
  if (merged.every((p) => p.replies === 0) && failures.length > 0) throw failures[0];
  return summarize(opts, address, merged);
}

/**
 * benchAsWorker is one of runWorkers's processes: it opens its share of the sockets, says so, starts
 * on the parent's word, and sends back its raw figures (every latency, so that percentiles merge exactly).
 */
export async function benchAsWorker(opts: BenchOptions, plan: BenchWorkerPlan): Promise<number> {
  const tell = (message: ToParent) =>
    new Promise<void>((resolve) => {
      process.send!(message, undefined, undefined, () => resolve());
    });
  const go = Promise.withResolvers<void>();
  process.on("message", (message: ToWorker) => {
    if (message.type === "go") go.resolve();
  });
  // A parent that died (SIGKILL) will never say go nor read the figures: no orphan waits or loads for it.
  let reported = false;
  process.once("disconnect", () => reported || process.exit(1));
  const { part, failure } = await loadPart(
    {
      ...opts,
      concurrency: plan.concurrency,
      onProgress: (p) => void tell({ type: "progress", replies: p.replies, errors: p.errors }),
      ready: async () => {
        await tell({ type: "ready" });
        await go.promise;
      },
    },
    plan.address,
  );
  const described =
    failure === undefined
      ? undefined
      : failure instanceof NetError
        ? { net: failure.fields() }
        : { message: failure instanceof Error ? failure.message : String(failure) };
  await tell({ type: "done", part, failure: described });
  reported = true;
  process.disconnect?.();
  return 0;
}
