// The process-wide total of queued TCP output: past it, connections that add to it stop being read until it drains.

/**
 * OutputBudget counts the bytes every connection has queued for slow readers. --max-pending bounds
 * one connection; this bounds them all, so ten thousand slow readers cannot hold ten thousand times
 * --max-pending. Over the total, a connection that adds output is paused; the paused are woken once
 * the total is back under half.
 */
export class OutputBudget {
  /** queued is the bytes queued now, across connections. */
  queued = 0;
  private readonly sleepers = new Set<() => void>();

  constructor(readonly max: number) {}

  /** over says whether queued output has passed the total. */
  get over(): boolean {
    return this.queued > this.max;
  }

  /** low says whether queued output is back under half the total: time to read again. */
  get low(): boolean {
    return this.queued <= this.max / 2;
  }

  add(bytes: number): void {
    this.queued += bytes;
  }

  /**
   * release takes bytes off the total (written, or dropped with their connection) and wakes the paused once it is low.
   */
  release(bytes: number): void {
    this.queued -= bytes;
    if (this.sleepers.size > 0 && this.low) {
      const wake = [...this.sleepers];
      this.sleepers.clear();
      for (const fn of wake) fn();
    }
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
