// The send times of the UDP requests one socket has in flight, for both UDP load paths (libc's and Bun's).

/**
 * SendTimes is a ring of up to `window` send times, oldest first. Datagrams on loopback come back in the order they
 * went, so a reply belongs to the oldest request still waiting; a lost one is dropped by expire(), after which the
 * order holds again.
 */
export class SendTimes {
  private readonly at: Float64Array;
  private head = 0;
  /** count is how many requests wait for replies. */
  count = 0;

  constructor(readonly window: number) {
    this.at = new Float64Array(window);
  }

  /** push notes n requests sent at `now`. */
  push(n: number, now: number): void {
    for (let i = 0; i < n; i++) this.at[(this.head + this.count++) % this.window] = now;
  }

  /** shift takes the oldest request off and returns when it was sent. */
  shift(): number {
    const t = this.at[this.head]!;
    this.head = (this.head + 1) % this.window;
    this.count--;
    return t;
  }

  /** expire drops the requests sent before `before` and returns how many: they are lost. */
  expire(before: number): number {
    let lost = 0;
    while (this.count > 0 && this.at[this.head]! < before) {
      this.shift();
      lost++;
    }
    return lost;
  }

  /** clear forgets every request in flight and returns how many there were. */
  clear(): number {
    const lost = this.count;
    this.count = 0;
    return lost;
  }
}
