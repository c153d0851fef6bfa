// A load generator for `upcat bench`: requests a second and latency percentiles of a UDP or TCP request/reply server.
import { NetError } from "../errors.ts";
import { hostPort, resolveHost } from "../transport/address.ts";
import { dialStream, type StreamConn } from "../transport/stream-conn.ts";
import type { Target } from "../transport/target.ts";
import { PacketFlow, type PacketFlowHandlers } from "./packet-flow.ts";
import { type Clock, LoadTally } from "./tally.ts";
import { streamLibc, tcpLoadLibc } from "./tcp-libc.ts";
import { datagramLibc, udpLoadLibc } from "./udp-libc.ts";

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
  /** address is the IP literal to load, when it is known already (a worker has its parent's); else target.host's. */
  address?: string;
  /**
   * ready, when given, is awaited once the sockets are open, and the load starts when it resolves: the
   * workers of `bench --workers` open theirs, then start together.
   */
  ready?(): Promise<void>;
  /**
   * engine: the load through libc (Linux: sendmmsg and recvmmsg for UDP, epoll for TCP; the default where libc
   * opens) or through Bun's sockets (the way everywhere else). Tests choose, so that both stay tried.
   */
  engine?: "libc" | "bun";
}

export interface BenchProgress {
  readonly elapsedMs: number;
  readonly replies: number;
  readonly errors: number;
}

/** BenchPart is one load process's raw figures, which a parent adds up with the others' (see summarize). */
export interface BenchPart {
  requests: number;
  replies: number;
  errors: number;
  bytesIn: number;
  /** elapsedMs is from the start of the load to the last reply or loss. */
  elapsedMs: number;
  /** latencies are every reply's, in milliseconds, in no order: percentiles of merged parts need them all. */
  latencies: Float64Array;
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

/** SWEEP_MS bounds how late a lost UDP request or a stalled TCP connection is noticed past its timeout. */
const SWEEP_MS = 100;
const sweepEvery = (timeoutMs: number) => Math.max(5, Math.min(SWEEP_MS, timeoutMs / 4));

/**
 * runBench loads the target for durationMs and returns the figures; it throws a NetError only when no request could be
 * made at all.
 */
export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const address = opts.address ?? (await resolveHost(opts.target.host, opts.target.transport))[0]!;
  const { part, failure } = await loadPart(opts, address);
  if (part.replies === 0 && failure) throw failure;
  return summarize(opts, address, [part]);
}

/**
 * loadPart is one process's load: its sockets, its figures, and the first failure among them (thrown by
 * runBench only when nothing was answered at all).
 */
export async function loadPart(opts: BenchOptions, address: string): Promise<{ part: BenchPart; failure?: unknown }> {
  const tally = new LoadTally();
  let progress: ReturnType<typeof setInterval> | undefined;
  const clock: Clock = {
    started: performance.now(),
    stopAt: performance.now() + opts.durationMs,
    async begin() {
      await opts.ready?.();
      clock.started = performance.now();
      clock.stopAt = clock.started + opts.durationMs;
      if (opts.onProgress)
        progress = setInterval(
          () =>
            opts.onProgress!({
              elapsedMs: performance.now() - clock.started,
              replies: tally.replies,
              errors: tally.errors,
            }),
          250,
        );
    },
  };
  let failure: unknown;
  try {
    failure =
      opts.target.transport === "udp"
        ? await udpLoad(address, opts.target.port, opts, tally, clock)
        : await tcpLoad(address, opts.target.port, opts, tally, clock);
  } finally {
    clearInterval(progress);
  }
  const part: BenchPart = {
    requests: tally.requests,
    replies: tally.replies,
    errors: tally.errors,
    bytesIn: tally.bytesIn,
    elapsedMs: Math.max(performance.now() - clock.started, 1),
    latencies: tally.lat.subarray(0, tally.n),
  };
  return { part, failure };
}

/**
 * summarize adds parts up as loadgen does: counts summed, the rate the sum of each part's rate, and the
 * percentiles of every latency of every part (never an average of percentiles).
 */
export function summarize(
  opts: Pick<BenchOptions, "target" | "concurrency" | "size">,
  address: string,
  parts: readonly BenchPart[],
): BenchResult {
  const { target } = opts;
  const total = parts.reduce((n, p) => n + p.latencies.length, 0);
  const sorted = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    sorted.set(p.latencies, at);
    at += p.latencies.length;
  }
  sorted.sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const add = (f: (p: BenchPart) => number) => parts.reduce((n, p) => n + f(p), 0);
  return {
    target: `${target.transport}://${hostPort(target.host, target.port)}`,
    transport: target.transport,
    address,
    concurrency: opts.concurrency,
    size: opts.size,
    durationMs: Math.round(Math.max(...parts.map((p) => p.elapsedMs))),
    requests: add((p) => p.requests),
    replies: add((p) => p.replies),
    errors: add((p) => p.errors),
    bytesIn: add((p) => p.bytesIn),
    rate: Math.round(add((p) => (p.replies / p.elapsedMs) * 1000)),
    latency: {
      p50: round(percentile(sorted, 50)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.length ? sorted[sorted.length - 1]! : 0),
      mean: round(sorted.length ? sum / sorted.length : 0),
    },
  };
}

/**
 * shareOf is part `index` of `total` requests in flight (or connections) split `parts` ways: as even as whole numbers
 * allow, and the parts add up to the total. Workers split --concurrency so, and a worker its window over its sockets.
 */
export function shareOf(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

/** UDP_SOCKETS is how many sockets (source ports, which SO_REUSEPORT spreads by) a process spreads its window over. */
const UDP_SOCKETS = 4;

/**
 * udpLoad keeps `concurrency` datagrams in flight over a few sockets: each reply frees a place in the
 * window, and the requests freed by one burst of replies go out in one batch, after the burst, as
 * loadgen's recvmmsg and sendmmsg do. A request unanswered for timeoutMs is lost, counted, and sent anew.
 */
async function udpLoad(address: string, port: number, opts: BenchOptions, tally: LoadTally, clock: Clock) {
  const payload = payloadOf(opts.size);
  const sockets = Math.min(opts.concurrency, UDP_SOCKETS);
  const windows = Array.from({ length: sockets }, (_, i) => shareOf(opts.concurrency, sockets, i));
  const c = opts.engine === "bun" ? null : datagramLibc();
  if (c) {
    const load = { windows, payload, timeoutMs: opts.timeoutMs, sweepMs: sweepEvery(opts.timeoutMs) };
    return udpLoadLibc(c, address, port, load, tally, clock);
  }
  const batches: Uint8Array[][] = [];
  const batchOf = (n: number) => (batches[n] ??= new Array<Uint8Array>(n).fill(payload));
  let failure: unknown;
  let scheduled = false;
  let sending = true;
  const over = Promise.withResolvers<void>();
  const flows: PacketFlow[] = [];
  const live = () => flows.filter((f) => !f.closed);
  const finishIfDone = () => {
    if (!sending && live().every((f) => f.inFlight === 0)) over.resolve();
  };
  const flush = () => {
    scheduled = false;
    const now = performance.now();
    if (now >= clock.stopAt) sending = false;
    for (const f of flows) {
      if (!sending) f.due = 0;
      else tally.requests += f.flush(batchOf, now);
    }
    finishIfDone();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };
  const on: PacketFlowHandlers = {
    // A reply frees a place in its own flow's window.
    reply(flow, sentAt, bytes) {
      tally.reply(performance.now() - sentAt, bytes);
      flow.due++;
      schedule();
    },
    failed(_flow, err, lost) {
      failure ??= err;
      tally.errors += lost;
      // ECONNREFUSED: nothing listens there; every flow will hear it, and the run ends.
      if (live().length === 0) sending = false;
      finishIfDone();
    },
    drained: schedule,
  };
  try {
    for (const window of windows) flows.push(await PacketFlow.dial(address, port, window, on));
  } catch (err) {
    for (const f of flows) f.close();
    tally.errors++;
    return err;
  }
  await clock.begin();
  for (const f of flows) f.due = f.window;
  const sweep = setInterval(() => {
    const now = performance.now();
    if (now >= clock.stopAt) sending = false;
    for (const f of flows) {
      const lost = f.times.expire(now - opts.timeoutMs);
      tally.errors += lost;
      if (sending) f.due += lost;
    }
    if (sending) schedule();
    finishIfDone();
  }, sweepEvery(opts.timeoutMs));
  schedule();
  try {
    await over.promise;
  } finally {
    clearInterval(sweep);
    for (const f of flows) f.close();
  }
  return failure;
}

/**
 * tcpLoad keeps `concurrency` connections, each sending a request once the whole reply to the last one arrived. One
 * sweep, not a timer a request, fails a connection whose reply is later than timeoutMs.
 */
async function tcpLoad(address: string, port: number, opts: BenchOptions, tally: LoadTally, clock: Clock) {
  const payload = payloadOf(opts.size);
  const c = opts.engine === "bun" ? null : streamLibc();
  if (c) {
    const load = {
      concurrency: opts.concurrency,
      payload,
      timeoutMs: opts.timeoutMs,
      sweepMs: sweepEvery(opts.timeoutMs),
    };
    return tcpLoadLibc(c, address, port, load, tally, clock);
  }
  let failure: unknown;
  const dialed = await Promise.allSettled(
    Array.from({ length: opts.concurrency }, () => dialStream(address, port, { timeoutMs: opts.timeoutMs })),
  );
  const conns: StreamConn[] = [];
  for (const d of dialed) {
    if (d.status === "fulfilled") conns.push(d.value);
    else {
      failure ??= d.reason;
      tally.errors++;
    }
  }
  if (conns.length === 0) return failure;
  await clock.begin();
  const pumps = conns.map((conn) => new Pump(conn, payload, tally, clock, address, port));
  const sweep = setInterval(() => {
    const late = performance.now() - opts.timeoutMs;
    for (const p of pumps) if (p.waitingSince(late)) p.timedOut(opts.timeoutMs);
  }, sweepEvery(opts.timeoutMs));
  try {
    await Promise.all(pumps.map((p) => p.done));
  } finally {
    clearInterval(sweep);
  }
  for (const p of pumps) failure ??= p.failure;
  return failure;
}

/** Pump is one TCP connection of the load: callbacks, not a read() promise a reply, so it costs less than a server. */
class Pump {
  private sentAt = 0;
  private got = 0;
  private over = false;
  failure: unknown;
  private readonly finished = Promise.withResolvers<void>();
  readonly done = this.finished.promise;

  constructor(
    private readonly conn: StreamConn,
    private readonly payload: Uint8Array,
    private readonly tally: LoadTally,
    private readonly clock: Clock,
    private readonly address: string,
    private readonly port: number,
  ) {
    conn.listen({
      data: (chunk) => {
        if (this.over) return;
        this.got += chunk.length;
        // The reply to a request is as long as the request (upper, echo).
        if (this.got < payload.length) return;
        const now = performance.now();
        tally.reply(now - this.sentAt, this.got);
        this.request(now);
      },
      end: () => this.fail(this.error("connection closed by peer", "EPIPE")),
      error: (err) => this.fail(err),
    });
    this.request(performance.now());
  }

  /** waitingSince: a request is out and was sent before `t`. */
  waitingSince(t: number): boolean {
    return !this.over && this.sentAt < t;
  }

  timedOut(timeoutMs: number): void {
    this.fail(this.error(`no reply within ${timeoutMs}ms`, "ETIMEDOUT"));
  }

  private request(now: number): void {
    if (now >= this.clock.stopAt) {
      this.finish();
      return this.conn.close();
    }
    this.tally.requests++;
    this.got = 0;
    this.sentAt = now;
    this.conn.write(this.payload).catch((err) => this.fail(err));
  }

  private finish(): void {
    this.over = true;
    this.finished.resolve();
  }

  private fail(err: unknown): void {
    if (this.over) return;
    this.finish();
    this.failure = err;
    this.tally.errors++;
    this.conn.reset();
  }

  private error(reason: string, code: string): NetError {
    return new NetError({ op: "read", transport: "tcp", address: hostPort(this.address, this.port), reason, code });
  }
}
