// What a load's clients share: the LoadTally they add to and the Clock that starts and stops them.

/** LoadTally is what every client adds to; latencies are kept in a growable Float64Array (8 bytes a reply). */
export class LoadTally {
  requests = 0;
  replies = 0;
  errors = 0;
  bytesIn = 0;
  lat = new Float64Array(1 << 16);
  n = 0;
  reply(ms: number, bytes: number): void {
    this.replies++;
    this.bytesIn += bytes;
    if (this.n === this.lat.length) {
      const next = new Float64Array(this.lat.length * 2);
      next.set(this.lat);
      this.lat = next;
    }
    this.lat[this.n++] = ms;
  }
}

/** Clock is when the load started and when it stops sending; begin() is called once the sockets are open. */
export interface Clock {
  started: number;
  stopAt: number;
  begin(): Promise<void>;
}
