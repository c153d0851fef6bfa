// One direction of a relayed TCP connection: bytes from a source socket to a destination, with backpressure, half-close
// and that direction's faults.
import type { Socket } from "bun";
import type { OutputBudget } from "../transport/output-budget.ts";
import type { Direction, DirectionFaults } from "./faults.ts";
import type { Random } from "./random.ts";

/** CHUNK_GAP_MS is the pause between --chunk pieces: long enough that each leaves as a segment of its own. */
export const CHUNK_GAP_MS = 1;
/** PACE_SLICES_PER_SECOND: --bandwidth writes in slices of a twentieth of a second's bytes, so the pace is smooth. */
const PACE_SLICES_PER_SECOND = 20;
/**
 * RESET_GRACE_MS: after the last byte before a --reset-after, the reset waits this long, so those
 * bytes reach the peer before the RST (which discards whatever is still in the relay's send buffer).
 */
export const RESET_GRACE_MS = 20;

/** Tally counts one direction: bytes received from the sender, forwarded to the receiver, and dropped by a fault. */
export interface Tally {
  received: number;
  forwarded: number;
  dropped: number;
}

/**
 * PipeOwner is what a pipe asks of its connection, naming its direction. One object (the connection)
 * serves both pipes, so a connection costs no closures of its own.
 */
export interface PipeOwner {
  /** source is the direction's sending socket, once there is one, to pause and resume. */
  source(direction: Direction): Socket<unknown> | undefined;
  /** reset is --reset-after firing: both sides get an RST. */
  reset(): void;
  /** stalled is --stall-after firing, for the log. */
  stalled(direction: Direction): void;
  /** received and forwarded hear of every byte count that moves (the counters, and the idle timeout's clock). */
  received(direction: Direction, n: number): void;
  forwarded(direction: Direction, n: number): void;
  /** finished: the destination has had its FIN. */
  finished(): void;
}

interface Queued {
  bytes: Uint8Array;
  /** at is when the bytes may go (performance.now), for --delay. */
  at: number;
}

/** StreamPipe moves bytes one way. push and end come from the source's handlers; pump from the destination's drain. */
export class StreamPipe {
  /** dst is the receiving socket; until it connects, pushed bytes wait in the queue. */
  dst: Socket<unknown> | undefined;
  readonly tally: Tally = { received: 0, forwarded: 0, dropped: 0 };
  /** queued counts bytes held, on their way or delayed, against --max-pending and the --max-output total. */
  queued = 0;
  private queue: Queued[] = [];
  /** passed counts bytes let through (not dropped): what --reset-after and --stall-after SIZE count. */
  private passed = 0;
  private ended = false;
  private done = false;
  private paused = false;
  private stalledNow = false;
  private resetting = false;
  private waiting = false;
  private lastAt = 0;
  /** nextFree is when --bandwidth lets the next byte go. */
  private nextFree = 0;
  /**
   * faultTimers are --reset-after and --stall-after's timers; pacer is the one that wakes pump for --delay, --bandwidth
   * and --chunk.
   */
  private readonly faultTimers: ReturnType<typeof setTimeout>[] = [];
  private pacer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  /** plain: no fault that changes timing or cutting, so a chunk may go straight through. */
  private readonly plain: boolean;
  private draw: Random | undefined;

  constructor(
    private readonly direction: Direction,
    private readonly faults: DirectionFaults,
    /** random is called for jitter only, and made only then: most relays never draw. */
    private readonly random: () => Random,
    private readonly maxPending: number,
    private readonly budget: OutputBudget,
    private readonly hooks: PipeOwner,
    /** total is the relay's tally of this direction, over every connection. */
    private readonly total: Tally,
  ) {
    this.plain = !faults.delay && faults.bandwidth === undefined && faults.chunk === undefined;
    const { resetAfter, stallAfter } = faults;
    if (resetAfter && "ms" in resetAfter) this.faultTimers.push(setTimeout(() => this.fireReset(), resetAfter.ms));
    if (stallAfter && "ms" in stallAfter) this.faultTimers.push(setTimeout(() => this.stall(), stallAfter.ms));
  }

  /** push takes a chunk the source sent (Bun hands each read over in a buffer of its own: it is kept, not copied). */
  push(chunk: Uint8Array): void {
    this.count("received", chunk.length);
    this.hooks.received(this.direction, chunk.length);
    if (this.done || this.stalledNow || this.resetting) return void this.count("dropped", chunk.length);
    const cap = this.capAfter();
    if (cap !== undefined && chunk.length >= cap) {
      this.count("dropped", chunk.length - cap);
      chunk = chunk.subarray(0, cap);
    }
    this.passed += chunk.length;
    if (this.plain && this.queued === 0 && this.dst) {
      // The common case, no fault in the way: straight to the kernel, queueing only what it did not take.
      const written = this.dst.write(chunk);
      if (written < 0) return;
      this.wrote(written);
      chunk = chunk.subarray(written);
      if (chunk.length > 0) this.enqueue(chunk);
    } else if (chunk.length > 0) {
      this.enqueue(chunk);
    }
    this.checkAfter();
    this.pump();
  }

  /** end: the source half-closed; the destination gets its FIN once the queue is out. */
  end(): void {
    this.ended = true;
    this.pump();
  }

  /** pump writes what is due, as far as the destination takes it; drain and its own timers call it again. */
  pump(): void {
    const dst = this.dst;
    if (!dst || this.waiting || this.done) return;
    const f = this.faults;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const now = performance.now();
      const due = Math.max(head.at, f.bandwidth === undefined ? 0 : this.nextFree);
      if (due > now) return this.later(due - now);
      let size = head.bytes.length;
      if (f.chunk !== undefined) size = Math.min(size, f.chunk);
      if (f.bandwidth !== undefined)
        size = Math.min(size, Math.max(1, Math.floor(f.bandwidth / PACE_SLICES_PER_SECOND)));
      const piece = size === head.bytes.length ? head.bytes : head.bytes.subarray(0, size);
      const written = dst.write(piece);
      if (written < 0) return;
      this.wrote(written);
      if (f.bandwidth !== undefined) this.nextFree = Math.max(this.nextFree, now) + (written * 1000) / f.bandwidth;
      head.bytes = head.bytes.subarray(written);
      if (head.bytes.length === 0) this.queue.shift();
      // A partial write waits for drain.
      if (written < piece.length) return;
      if (f.chunk !== undefined && this.queue.length > 0) return this.later(CHUNK_GAP_MS);
    }
    const { resetAfter } = f;
    if (resetAfter && "bytes" in resetAfter && this.passed >= resetAfter.bytes) {
      if (!this.resetting) this.faultTimers.push(setTimeout(() => this.fireReset(), RESET_GRACE_MS));
      this.resetting = true;
      return;
    }
    if (this.ended && !this.stalledNow) {
      this.done = true;
      dst.shutdown();
      this.hooks.finished();
    }
  }

  /** stop cancels the pipe's timers and gives its queued bytes back to the --max-output total. */
  stop(): void {
    this.done = true;
    for (const t of this.faultTimers) clearTimeout(t);
    this.faultTimers.length = 0;
    clearTimeout(this.pacer);
    if (this.wake) this.budget.cancel(this.wake);
    this.wake = undefined;
    this.drop();
  }

  /** finished: nothing more will go this way (the FIN was passed on, or the pipe was stopped). */
  get finished(): boolean {
    return this.done;
  }

  private count(field: keyof Tally, n: number): void {
    this.tally[field] += n;
    this.total[field] += n;
  }

  private enqueue(bytes: Uint8Array): void {
    const f = this.faults;
    let at = 0;
    if (f.delay) {
      const jitter = f.delay.jitterMs > 0 ? ((this.draw ??= this.random())() * 2 - 1) * f.delay.jitterMs : 0;
      // A TCP stream keeps its order: jitter never lets a chunk overtake the one before.
      at = Math.max(this.lastAt, performance.now() + f.delay.ms + jitter);
      this.lastAt = at;
    }
    this.queue.push({ bytes, at });
    this.queued += bytes.length;
    // Coming near --max-output, add has every pipe of the relay halted, this one too.
    this.budget.add(bytes.length);
    if (this.paused || this.queued <= this.maxPending) return;
    this.paused = true;
    this.hooks.source(this.direction)?.pause();
  }

  /**
   * halt stops reading the source until the --max-output total is low again: it is within a read of its end, and a
   * read from each source would pass it many times over. A source not yet connected is paused once it is (attach).
   */
  halt(): void {
    if (this.paused || this.stalledNow || this.done) return;
    this.paused = true;
    this.hooks.source(this.direction)?.pause();
    this.waitLow();
  }

  /** attach is the source connecting: a pipe halted before it was there keeps it unread until woken. */
  attach(source: Socket<unknown>): void {
    if (this.paused) source.pause();
  }

  private wrote(n: number): void {
    if (n <= 0) return;
    this.count("forwarded", n);
    this.hooks.forwarded(this.direction, n);
    const fromQueue = Math.min(n, this.queued);
    if (fromQueue > 0) {
      this.queued -= fromQueue;
      this.budget.release(fromQueue);
    }
    this.resumeIfLow();
  }

  /** resumeIfLow reads the source again once this queue is under half of --max-pending and the total is low. */
  private resumeIfLow(): void {
    if (!this.paused || this.stalledNow || this.queued > this.maxPending / 2) return;
    if (!this.budget.low) return this.waitLow();
    this.paused = false;
    this.hooks.source(this.direction)?.resume();
  }

  /** waitLow has resumeIfLow called again once the --max-output total is low. */
  private waitLow(): void {
    if (this.wake) return;
    this.wake = () => {
      this.wake = undefined;
      this.resumeIfLow();
    };
    this.budget.whenLow(this.wake);
  }

  /** capAfter is how many more bytes --reset-after or --stall-after SIZE lets through, if either is set. */
  private capAfter(): number | undefined {
    let cap: number | undefined;
    for (const a of [this.faults.resetAfter, this.faults.stallAfter]) {
      if (a && "bytes" in a) cap = Math.min(cap ?? Infinity, Math.max(0, a.bytes - this.passed));
    }
    return cap;
  }

  /** checkAfter stalls once --stall-after SIZE bytes have passed. */
  private checkAfter(): void {
    const s = this.faults.stallAfter;
    if (s && "bytes" in s && this.passed >= s.bytes) this.stall(false);
  }

  /** stall stops reading the source for good; with `dropQueued` (a timed stall) what is queued never goes either. */
  private stall(dropQueued = true): void {
    if (this.stalledNow || this.done) return;
    this.stalledNow = true;
    this.hooks.source(this.direction)?.pause();
    if (dropQueued) this.drop();
    this.hooks.stalled(this.direction);
  }

  private fireReset(): void {
    if (this.done) return;
    this.resetting = true;
    this.hooks.reset();
  }

  private drop(): void {
    if (this.queued > 0) {
      this.count("dropped", this.queued);
      this.budget.release(this.queued);
    }
    this.queued = 0;
    this.queue = [];
  }

  private later(ms: number): void {
    this.waiting = true;
    this.pacer = setTimeout(
      () => {
        this.waiting = false;
        this.pump();
      },
      Math.max(0, ms),
    );
  }
}
