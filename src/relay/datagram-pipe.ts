// One direction of a UDP session: datagrams through stall, loss, duplication, reordering, delay and bandwidth, in that
// order, bounded.
import type { OutputBudget } from "../transport/output-budget.ts";
import type { DirectionFaults } from "./faults.ts";
import type { Random } from "./random.ts";
import type { Tally } from "./stream-pipe.ts";

/** REORDER_HOLD_MS: a --reorder group not filled this long after its first datagram goes as it is (newest first). */
export const REORDER_HOLD_MS = 250;

/** DatagramCounts are what the pipe tells its relay about, beyond the Tally. */
export interface DatagramCounts {
  duplicated: number;
  reordered: number;
  stalls: number;
}

/**
 * DatagramPipe passes datagrams one way. Its Tally counts datagrams: received, forwarded (copies
 * included) and dropped (lost, stalled, or over --max-pending while held).
 */
export class DatagramPipe {
  readonly tally: Tally = { received: 0, forwarded: 0, dropped: 0 };
  /** held counts the bytes of datagrams waiting (reordered, delayed, paced) against --max-pending. */
  held = 0;
  private passedBytes = 0;
  private stalled = false;
  private stopped = false;
  private group: Uint8Array[] = [];
  private groupTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private paced: Uint8Array[] = [];
  private pacer: ReturnType<typeof setTimeout> | undefined;
  private nextFree = 0;
  private stallTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly faults: DirectionFaults,
    private readonly random: Random,
    private readonly maxPending: number,
    private readonly budget: OutputBudget,
    /** deliver sends a datagram on; false: it was dropped there (a full socket, a --udp-* bound). */
    private readonly deliver: (bytes: Uint8Array) => boolean,
    private readonly total: Tally,
    private readonly counts: DatagramCounts,
    private readonly onStall: () => void,
  ) {
    const s = faults.stallAfter;
    if (s && "ms" in s) this.stallTimer = setTimeout(() => this.stall(), s.ms);
  }

  /** pass takes one datagram; the bytes are the pipe's to keep. */
  pass(bytes: Uint8Array): void {
    const f = this.faults;
    this.count("received");
    if (this.stopped || this.stalled) return this.count("dropped");
    const s = f.stallAfter;
    if (s && "bytes" in s && this.passedBytes + bytes.length > s.bytes) {
      this.stall();
      return this.count("dropped");
    }
    if (f.loss !== undefined && f.loss > 0 && this.random() < f.loss) return this.count("dropped");
    this.passedBytes += bytes.length;
    const twice = f.duplicate !== undefined && f.duplicate > 0 && this.random() < f.duplicate;
    this.reorder(bytes);
    if (twice) {
      this.counts.duplicated++;
      this.reorder(bytes);
    }
  }

  /** stop drops whatever is held and cancels the timers: the session is over. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.groupTimer);
    clearTimeout(this.pacer);
    clearTimeout(this.stallTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.budget.release(this.held);
    this.held = 0;
    this.group = [];
    this.paced = [];
  }

  private reorder(bytes: Uint8Array): void {
    if (!this.hold(bytes)) return;
    const n = this.faults.reorder;
    if (n === undefined) return this.delay(bytes);
    this.group.push(bytes);
    if (this.group.length >= n) return this.releaseGroup();
    this.groupTimer ??= setTimeout(() => this.releaseGroup(), REORDER_HOLD_MS);
  }

  private releaseGroup(): void {
    clearTimeout(this.groupTimer);
    this.groupTimer = undefined;
    const group = this.group.reverse();
    this.group = [];
    if (group.length > 1) this.counts.reordered++;
    for (const bytes of group) this.delay(bytes);
  }

  private delay(bytes: Uint8Array): void {
    const d = this.faults.delay;
    if (!d) return this.pace(bytes);
    // Unlike a stream, jitter may let a datagram overtake another: that is what networks do.
    const ms = d.ms + (d.jitterMs > 0 ? (this.random() * 2 - 1) * d.jitterMs : 0);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.pace(bytes);
    }, ms);
    this.timers.add(timer);
  }

  private pace(bytes: Uint8Array): void {
    if (this.faults.bandwidth === undefined) return this.send(bytes);
    this.paced.push(bytes);
    if (!this.pacer) this.pump();
  }

  /** pump lets paced datagrams go as --bandwidth allows: each takes its size over the rate. */
  private pump(): void {
    this.pacer = undefined;
    const rate = this.faults.bandwidth!;
    while (this.paced.length > 0) {
      const now = performance.now();
      if (this.nextFree > now) {
        this.pacer = setTimeout(() => this.pump(), this.nextFree - now);
        return;
      }
      const bytes = this.paced.shift()!;
      this.nextFree = Math.max(this.nextFree, now) + (bytes.length * 1000) / rate;
      this.send(bytes);
    }
  }

  /** hold counts a datagram's bytes as held; false (and dropped) past --max-pending or the --max-output total. */
  private hold(bytes: Uint8Array): boolean {
    const f = this.faults;
    if (f.reorder === undefined && !f.delay && f.bandwidth === undefined) return true;
    if (this.held + bytes.length > this.maxPending || this.budget.over) {
      this.count("dropped");
      return false;
    }
    this.held += bytes.length;
    this.budget.add(bytes.length);
    return true;
  }

  private send(bytes: Uint8Array): void {
    if (this.stopped) return;
    const f = this.faults;
    if (f.reorder !== undefined || f.delay || f.bandwidth !== undefined) {
      this.held -= bytes.length;
      this.budget.release(bytes.length);
    }
    // A timed stall stops what was already on its way too.
    if (this.stalled) return this.count("dropped");
    this.count(this.deliver(bytes) ? "forwarded" : "dropped");
  }

  private stall(): void {
    if (this.stalled) return;
    this.stalled = true;
    this.counts.stalls++;
    this.onStall();
  }

  private count(field: keyof Tally): void {
    this.tally[field]++;
    this.total[field]++;
  }
}
