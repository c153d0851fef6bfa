// Token buckets per source prefix and one for everyone: how a UDP server stays useless as a weapon and cannot be
// looped.

/** MAX_SOURCES bounds the table; a flood from forged addresses must not grow memory without end. */
export const MAX_SOURCES = 65_536;

/** SWEEP_EVERY_MS: how often, at most, a full table is searched for buckets that carry no state. */
const SWEEP_EVERY_MS = 250;

/** Verdict says what one reply may do: GO, or which budget refused it. */
export type Verdict = typeof GO | typeof OVER_REPLIES | typeof OVER_LARGER;
export const GO = 0;
/** OVER_REPLIES: the source prefix has had its replies for now (any reply, any size). */
export const OVER_REPLIES = 1;
/** OVER_LARGER: the source prefix has had its replies larger than their request for now. */
export const OVER_LARGER = 2;

class Bucket {
  constructor(
    public replies: number,
    public larger: number,
    public at: number,
  ) {}
}

/**
 * SourceLimiter keeps two token buckets per source prefix (see sourcePrefix), each holding at most
 * one second of its rate: every reply spends a `replies` token, so a loop through another server is
 * bounded to `replyRate` a second and dies once the bucket is empty; a reply larger than its request
 * also spends a `larger` token. A rate of 0 for replies means no limit; for larger, none allowed.
 *
 * When the table is full, only buckets idle for a second or more are forgotten: they have refilled
 * completely, so forgetting them loses nothing. A busy bucket is never dropped to make room (that is
 * how a spray from fresh addresses used to reset its victim's bucket); a new source that finds no room
 * shares one overflow bucket with every other such source until a sweep frees some.
 */
export class SourceLimiter {
  private readonly buckets = new Map<number | string, Bucket>();
  private readonly overflow: Bucket;
  private lastSweep = -Infinity;

  constructor(
    private readonly replyRate: number,
    private readonly largerRate: number,
    private readonly maxSources = MAX_SOURCES,
  ) {
    this.overflow = new Bucket(replyRate, largerRate, 0);
  }

  /** size is how many prefixes the table holds now. */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * take spends the tokens one reply to `key` needs, and says whether it may go: a `replies` token unless `reply` is
   * false (the caller counts replies elsewhere: loopback's flows), and a `larger` token when it is larger.
   */
  take(key: number | string, larger: boolean, now: number, reply = true): Verdict {
    // Nothing to spend (no reply limit, no larger reply): no bucket to find or make.
    if (!larger && this.replyRate === 0) return GO;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = this.admit(key, now);
    }
    const elapsed = (now - bucket.at) / 1000;
    if (elapsed > 0) {
      bucket.at = now;
      bucket.replies = Math.min(this.replyRate, bucket.replies + elapsed * this.replyRate);
      bucket.larger = Math.min(this.largerRate, bucket.larger + elapsed * this.largerRate);
    }
    const limited = reply && this.replyRate > 0;
    if (limited && bucket.replies < 1) return OVER_REPLIES;
    if (larger) {
      if (bucket.larger < 1) return OVER_LARGER;
      bucket.larger -= 1;
    }
    if (limited) bucket.replies -= 1;
    return GO;
  }

  /** admit makes a full bucket for a new prefix, or hands out the overflow bucket when there is no room. */
  private admit(key: number | string, now: number): Bucket {
    if (this.buckets.size >= this.maxSources) {
      if (now - this.lastSweep < SWEEP_EVERY_MS) return this.overflow;
      this.lastSweep = now;
      for (const [k, b] of this.buckets) if (now - b.at >= 1000) this.buckets.delete(k);
      if (this.buckets.size >= this.maxSources) return this.overflow;
    }
    const bucket = new Bucket(this.replyRate, this.largerRate, now);
    this.buckets.set(key, bucket);
    return bucket;
  }
}

/**
 * ByteBudget is one token bucket of bytes a second for the whole server, holding at most one
 * second's worth: what replies larger than their requests may add, all sources together, so a spray
 * from many forged sources gets bytes out no more than bytes in plus this.
 */
export class ByteBudget {
  private tokens: number;
  private at = -Infinity;

  constructor(private readonly rate: number) {
    this.tokens = rate;
  }

  /** take spends `bytes` if they are there, and says whether they were. */
  take(bytes: number, now: number): boolean {
    if (now > this.at) {
      this.tokens = Math.min(this.rate, this.tokens + ((now - this.at) / 1000) * this.rate);
      this.at = now;
    }
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }
}
