// A token bucket per source address: how a UDP server that amplifies stays useless as a weapon.

/** MAX_SOURCES bounds the table; a flood from spoofed addresses must not grow memory without end. */
const MAX_SOURCES = 65_536;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * RateLimiter allows `rate` events a second per address, with bursts of up to `rate`. The key is the
 * address alone, not the port: a spoofed flood from many source ports shares one bucket.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly rate: number) {}

  /** size is how many sources the table holds now. */
  get size(): number {
    return this.buckets.size;
  }

  /** take spends one token for the address, and says whether there was one. */
  take(address: string, now = performance.now()): boolean {
    let bucket = this.buckets.get(address);
    if (!bucket) {
      if (this.buckets.size >= MAX_SOURCES) this.evict(now);
      bucket = { tokens: this.rate, at: now };
      this.buckets.set(address, bucket);
    } else {
      bucket.tokens = Math.min(this.rate, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** evict forgets the buckets that have refilled; if every source is still busy, the oldest go. */
  private evict(now: number): void {
    const full = 1000; // ms: any bucket idle this long has refilled completely
    for (const [address, bucket] of this.buckets) if (now - bucket.at >= full) this.buckets.delete(address);
    if (this.buckets.size < MAX_SOURCES) return;
    let drop = this.buckets.size >> 1;
    for (const address of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(address);
    }
  }
}
