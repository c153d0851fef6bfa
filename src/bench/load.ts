// A load generator for `upcat bench`: requests a second and latency percentiles of a UDP or TCP request/reply server.
import { NetError } from "../errors.ts";
import { hostPort, resolveHost } from "../transport/address.ts";
import type { Target } from "../transport/target.ts";
import { dialPacket, type PacketConn } from "../transport/packet-conn.ts";
import { dialStream, type StreamConn } from "../transport/stream-conn.ts";

export interface BenchOptions {
  target: Target;
  /** durationMs is how long to send new requests; replies still in flight are then awaited up to timeoutMs. */
  durationMs: number;
  /** concurrency: UDP requests in flight, or persistent TCP connections, each with one request outstanding. */
  concurrency: number;
  /** size of each request in bytes (lowercase letters and a newline). */
  size: number;
  /** timeoutMs: a UDP request unanswered this long is counted as lost and sent anew; a TCP one fails its connection. */
  timeoutMs: number;
  /** onProgress is called about every 250 ms with the replies so far. */
  onProgress?(p: BenchProgress): void;
}

export interface BenchProgress {
  readonly elapsedMs: number;
  readonly replies: number;
  readonly errors: number;
}

export interface BenchResult {
  readonly target: string;
  readonly transport: "udp" | "tcp";
  readonly address: string;
  readonly concurrency: number;
  readonly size: number;
  readonly durationMs: number;
  /** requests sent, replies received whole, errors (timeouts, lost connections, short or failed sends). */
  readonly requests: number;
  readonly replies: number;
  readonly errors: number;
  readonly bytesIn: number;
  readonly rate: number;
  /** latency percentiles of the replies, in milliseconds. */
  readonly latency: { readonly p50: number; readonly p99: number; readonly max: number; readonly mean: number };
}

/** payloadOf is the request every client sends: size bytes of a-z ending in a newline. */
export function payloadOf(size: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = 97 + (i % 26);
  if (size > 0) p[size - 1] = 10;
  return p;
}

/** percentile returns the p-th percentile (0..100) of sorted values, nearest rank; 0 with none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Tally is what every client adds to; latencies are kept in a growable Float64Array (8 bytes a reply). */
class Tally {
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

/**
 * runBench loads the target for durationMs and returns the figures; it throws a NetError only when no request could be
 * made at all.
 */
export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const { target } = opts;
  const [address] = await resolveHost(target.host, target.transport);
  const tally = new Tally();
  const started = performance.now();
  const stopAt = started + opts.durationMs;
  const progress = opts.onProgress
    ? setInterval(
        () =>
          opts.onProgress!({ elapsedMs: performance.now() - started, replies: tally.replies, errors: tally.errors }),
        250,
      )
    : undefined;
  try {
    if (target.transport === "udp") await udpLoad(address!, target.port, opts, tally, stopAt);
    else await tcpLoad(address!, target.port, opts, tally, stopAt);
  } finally {
    clearInterval(progress);
  }
  const elapsed = Math.max(performance.now() - started, 1);
  const sorted = tally.lat.subarray(0, tally.n).sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    target: `${target.transport}://${hostPort(target.host, target.port)}`,
    transport: target.transport,
    address: address!,
    concurrency: opts.concurrency,
    size: opts.size,
    durationMs: Math.round(elapsed),
    requests: tally.requests,
    replies: tally.replies,
    errors: tally.errors,
    bytesIn: tally.bytesIn,
    rate: Math.round((tally.replies / elapsed) * 1000),
    latency: {
      p50: round(percentile(sorted, 50)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.length ? sorted[sorted.length - 1]! : 0),
      mean: round(sorted.length ? sum / sorted.length : 0),
    },
  };
}

/** udpLoad keeps `concurrency` datagrams in flight, one socket a slot; a reply frees its slot for the next request. */
async function udpLoad(address: string, port: number, opts: BenchOptions, tally: Tally, stopAt: number): Promise<void> {
  const payload = payloadOf(opts.size);
  let refused: unknown;
  const slot = async (conn: PacketConn) => {
    try {
      while (performance.now() < stopAt) {
        tally.requests++;
        const sentAt = performance.now();
        try {
          conn.send(payload);
        } catch {
          tally.errors++;
        }
        // A lost datagram (or a reply that never comes) costs the slot timeoutMs, then it goes on.
        const reply = await conn.receive(opts.timeoutMs);
        if (reply) tally.reply(performance.now() - sentAt, reply.length);
        else tally.errors++;
      }
    } catch (err) {
      // ECONNREFUSED: nothing listens there; every slot will hear it, and the run ends.
      refused ??= err;
      tally.errors++;
    } finally {
      conn.close();
    }
  };
  const conns = await Promise.all(Array.from({ length: opts.concurrency }, () => dialPacket(address, port)));
  await Promise.all(conns.map(slot));
  if (tally.replies === 0 && refused) throw refused;
}

/** tcpLoad keeps `concurrency` connections, each sending a request once the whole reply to the last one arrived. */
async function tcpLoad(address: string, port: number, opts: BenchOptions, tally: Tally, stopAt: number): Promise<void> {
  const payload = payloadOf(opts.size);
  let firstError: unknown;
  // Callbacks, not a read() promise a reply: the load generator must cost less than the server it loads.
  const pump = (conn: StreamConn) =>
    new Promise<void>((done) => {
      let sentAt = 0;
      let got = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let over = false;
      const finish = () => {
        over = true;
        clearTimeout(timer);
        done();
      };
      const fail = (err: unknown) => {
        if (over) return;
        finish();
        firstError ??= err;
        tally.errors++;
        conn.reset();
      };
      const request = () => {
        clearTimeout(timer);
        if (performance.now() >= stopAt) {
          finish();
          return conn.close();
        }
        tally.requests++;
        got = 0;
        sentAt = performance.now();
        conn.write(payload).catch(fail);
        timer = setTimeout(
          () =>
            fail(
              new NetError({
                op: "read",
                transport: "tcp",
                address: hostPort(address, port),
                reason: `no reply within ${opts.timeoutMs}ms`,
                code: "ETIMEDOUT",
              }),
            ),
          opts.timeoutMs,
        );
      };
      conn.listen({
        data(chunk) {
          if (over) return;
          got += chunk.length;
          // The reply to a request is as long as the request (upper, echo).
          if (got < payload.length) return;
          tally.reply(performance.now() - sentAt, got);
          request();
        },
        end: () =>
          fail(
            new NetError({
              op: "read",
              transport: "tcp",
              address: hostPort(address, port),
              reason: "connection closed by peer",
              code: "EPIPE",
            }),
          ),
        error: fail,
      });
      request();
    });
  const connection = async () => {
    try {
      await pump(await dialStream(address, port, { timeoutMs: opts.timeoutMs }));
    } catch (err) {
      firstError ??= err;
      tally.errors++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, connection));
  if (tally.replies === 0 && firstError) throw firstError;
}
