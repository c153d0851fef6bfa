// Runs many checks at once: a bounded pool, retries with backoff, and a deadline to wait for (wait-for-it).
import { probe, type ProbeOptions } from "./probe.ts";
import type { CheckResult, CheckTarget, Outcome } from "./result.ts";

export interface RunOptions extends ProbeOptions {
  /** concurrency bounds the tries in flight. */
  concurrency: number;
  /** retries is how many more tries a failing target gets (without waitMs). */
  retries: number;
  /** waitMs keeps retrying every failing target until it passes or this much time has gone. */
  waitMs?: number;
  /** udpSilentOk passes a UDP target that sent nothing back (open or filtered). */
  udpSilentOk: boolean;
  /** down inverts the check (--down): a target passes when nothing accepts there, closed or unreachable. */
  down?: boolean;
  /**
   * each gives targets their own probe and --udp-silent-ok, by index, over these options (a --file line's own options).
   */
  each?: readonly TargetOptions[];
  /** onResult is called once a target has its verdict, in whatever order they finish. */
  onResult?(index: number, result: CheckResult): void;
  /** onProgress is called after each try while --wait is waiting. */
  onProgress?(progress: Progress): void;
}

/** TargetOptions is what one target asks for itself. */
export type TargetOptions = Partial<ProbeOptions> & { udpSilentOk?: boolean };

export interface Progress {
  readonly done: number;
  readonly passed: number;
  readonly total: number;
  readonly elapsedMs: number;
  readonly waiting: readonly CheckTarget[];
  /** why is the last try of each target in waiting, in its order: what --wait's notes say it is waiting out. */
  readonly why: readonly Outcome[];
}

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 1000;
const LAST_TRY_MS = 100;

/** backoffMs doubles from 100ms, capped at 1s, so a wait loop polls often but not hard. */
export function backoffMs(attempt: number): number {
  return Math.min(FIRST_BACKOFF_MS * 2 ** (attempt - 1), MAX_BACKOFF_MS);
}

/**
 * passes says whether one try's outcome is a pass for this run. Under --down only a refusal or an
 * unreachable address passes: a timeout may be a firewall in front of a live service, and any answer,
 * an HTTP 503 too, is a live service.
 */
export function passes(target: CheckTarget, outcome: Outcome, udpSilentOk: boolean, down = false): boolean {
  // A name the DNS server says does not exist is as gone as a closed port.
  if (down) return outcome.state === "closed" || outcome.state === "unreachable" || outcome.cause === "nxdomain";
  return outcome.state === "open" || (udpSilentOk && target.transport === "udp" && outcome.state === "no_reply");
}

/** runChecks checks every target and returns the verdicts in the order of `targets`. */
export async function runChecks(targets: readonly CheckTarget[], opts: RunOptions): Promise<CheckResult[]> {
  const started = performance.now();
  const deadline = opts.waitMs === undefined ? undefined : started + opts.waitMs;
  const results: CheckResult[] = new Array(targets.length);
  const waiting = new Set<number>();
  const lastTry = new Map<number, Outcome>();
  let passed = 0;
  let done = 0;
  const slots = new Slots(opts.concurrency);

  const checkOne = async (index: number): Promise<void> => {
    const target = targets[index]!;
    const own = opts.each?.[index] ? { ...opts, ...opts.each[index] } : opts;
    let last = false;
    for (let attempt = 1; ; attempt++) {
      // A slot is held for the try only: a target sleeping between tries lets others run.
      const outcome = await slots.run(() => {
        // Under --wait, no try runs past the deadline.
        const left = deadline === undefined ? Infinity : deadline - performance.now();
        return probe(target, { ...own, timeoutMs: Math.max(1, Math.min(own.timeoutMs, left)) });
      });
      const ok = passes(target, outcome, own.udpSilentOk, opts.down);
      const left = deadline === undefined ? Infinity : deadline - performance.now();
      const more = deadline === undefined ? attempt <= opts.retries : left > 0 && !last;
      let pause = backoffMs(attempt);
      // Near the deadline, one last try, early enough to have some time of its own.
      if (pause > left - LAST_TRY_MS) {
        pause = Math.max(0, left - LAST_TRY_MS);
        last = true;
      }
      if (ok || !more) {
        results[index] = { target, ...outcome, ok, attempts: attempt };
        waiting.delete(index);
        done++;
        if (ok) passed++;
        opts.onResult?.(index, results[index]);
        return;
      }
      waiting.add(index);
      lastTry.set(index, outcome);
      report();
      await Bun.sleep(pause);
    }
  };
  const report = () =>
    opts.onProgress?.({
      done,
      passed,
      total: targets.length,
      elapsedMs: performance.now() - started,
      waiting: [...waiting].map((i) => targets[i]!),
      why: [...waiting].map((i) => lastTry.get(i)!),
    });

  await Promise.all(targets.map((_, index) => checkOne(index)));
  report();
  return results;
}

/** Slots lets at most `size` tasks run at once, the rest queued in order. */
class Slots {
  private free: number;
  private readonly queue: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((wake) => this.queue.push(wake));
    try {
      return await task();
    } finally {
      const wake = this.queue.shift();
      if (wake) wake();
      else this.free++;
    }
  }
}
