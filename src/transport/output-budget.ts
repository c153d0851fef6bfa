// The process-wide total of queued TCP output: near it, every connection stops being read until it drains.

/**
 * READ_MAX is the most one read hands a `data` callback: Bun reads into a 512 KiB buffer (measured on
 * Bun 1.4.5 over loopback, flowing and after a pause alike). What a protocol makes of one read is
 * about as large (upper, echo), so that is what one read may add to the total.
 */
export const READ_MAX = 512 << 10;

/**
 * OutputBudget counts the bytes every connection has queued for slow readers. --max-pending bounds
 * one connection; this bounds them all, so ten thousand slow readers cannot hold ten thousand times
 * --max-pending. A read cannot be undone once Bun has made it, so the total closes a read's worth
 * (`headroom`) before its end: then every reader it knows of is stopped at once (not only the one that
 * added), and a connection opened meanwhile starts stopped. One read more, the one that closed it,
 * still fits; a read each from N connections would not. The stopped are woken once the total is back
 * under half.
 */
export class OutputBudget {
  /** queued is the bytes queued now, across connections. */
  queued = 0;
  /** full is set once queued comes within `headroom` of the total, and cleared once it is low again. */
  full = false;
  /** headroom is what the last read before the close may add: one read, or a quarter of a small total. */
  readonly headroom: number;
  private readonly sleepers = new Set<() => void>();
  private readonly stoppers = new Set<() => void>();

  constructor(
    readonly max: number,
    read = READ_MAX,
  ) {
    // At most a quarter, so that closing (past three quarters) and waking (half) stay apart.
    this.headroom = Math.min(read, Math.floor(max / 4));
  }

  /** over says whether queued output has passed the total itself (a datagram past it is dropped). */
  get over(): boolean {
    return this.queued > this.max;
  }

  /** low says whether queued output is back under half the total: time to read again. */
  get low(): boolean {
    return this.queued <= this.max / 2;
  }

  /** add counts bytes queued; coming within a read of the total, it has every reader stopped before it reads again. */
  add(bytes: number): void {
    this.queued += bytes;
    if (this.full || this.queued <= this.max - this.headroom) return;
    this.full = true;
    for (const stop of [...this.stoppers]) stop();
  }

  /**
   * release takes bytes off the total (written, or dropped with their connection) and wakes the paused once it is low.
   */
  release(bytes: number): void {
    this.queued -= bytes;
    if (!this.low) return;
    this.full = false;
    if (this.sleepers.size > 0) {
      const wake = [...this.sleepers];
      this.sleepers.clear();
      for (const fn of wake) fn();
    }
  }

  /**
   * onFull has `stop` called each time the total closes, to pause every connection of one listener or relay
   * that is still read; it returns what unregisters it.
   */
  onFull(stop: () => void): () => void {
    this.stoppers.add(stop);
    return () => void this.stoppers.delete(stop);
  }

  /** whenLow calls fn once the total is low again. */
  whenLow(fn: () => void): void {
    this.sleepers.add(fn);
  }

  /** cancel forgets fn (its connection closed). */
  cancel(fn: () => void): void {
    this.sleepers.delete(fn);
  }
}
