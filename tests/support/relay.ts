// A fault-injecting relay between a client and a server on loopback, since these kernels have no netem.
import type { Socket, TCPSocketListener } from "bun";

/** seeded is a small deterministic PRNG (mulberry32): the same seed gives the same faults and the same fuzz. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Upstream is where the relay forwards to: the real server. */
export interface Upstream {
  host: string;
  port: number;
}

/** DatagramFaults are what happens to datagrams going one way, applied in this order: loss, duplication, reordering, delay. */
export interface DatagramFaults {
  /** dropFirst drops the first N datagrams. */
  dropFirst?: number;
  /** dropEvery drops the k-th, 2k-th, 3k-th … datagram. */
  dropEvery?: number;
  /** lossRate drops each datagram with this probability, drawn from `seed`. */
  lossRate?: number;
  seed?: number;
  /** duplicate sends this many extra copies of every datagram that passes. */
  duplicate?: number;
  /** reorder holds this many datagrams and lets them go in reverse order (or after holdMs, whichever first). */
  reorder?: number;
  holdMs?: number;
  /** delayMs holds every datagram this long. */
  delayMs?: number;
}

/** Tally counts one direction: datagrams (or bytes, for TCP) received, dropped and forwarded (copies included). */
export interface Tally {
  received: number;
  dropped: number;
  forwarded: number;
}

export interface UdpRelayOptions {
  upstream: Upstream;
  /** up is client → server, down is server → client. */
  up?: DatagramFaults;
  down?: DatagramFaults;
}

export interface UdpRelay {
  readonly host: string;
  readonly port: number;
  readonly up: Tally;
  readonly down: Tally;
  /** clients is how many client addresses (address and port) the relay has seen. */
  readonly clients: number;
  stop(): void;
}

/** MAX_CLIENTS bounds the relay's own state: a test never needs more distinct client ports than this. */
const MAX_CLIENTS = 4096;

/** Direction applies one direction's faults; `timers` is shared so stop() can cancel everything in flight. */
class Direction {
  readonly tally: Tally = { received: 0, dropped: 0, forwarded: 0 };
  private readonly random: () => number;
  private held: { bytes: Uint8Array; deliver: (b: Uint8Array) => void }[] = [];
  private holdTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly faults: DatagramFaults,
    private readonly timers: Set<ReturnType<typeof setTimeout>>,
  ) {
    this.random = seeded(faults.seed ?? 1);
  }

  pass(bytes: Uint8Array, deliver: (b: Uint8Array) => void): void {
    const f = this.faults;
    const n = ++this.tally.received;
    const lost =
      (f.dropFirst !== undefined && n <= f.dropFirst) ||
      (f.dropEvery !== undefined && f.dropEvery > 0 && n % f.dropEvery === 0) ||
      (f.lossRate !== undefined && this.random() < f.lossRate);
    if (lost) return void this.tally.dropped++;
    for (let copy = 0; copy <= (f.duplicate ?? 0); copy++) this.hold(bytes, deliver);
  }

  private hold(bytes: Uint8Array, deliver: (b: Uint8Array) => void): void {
    const window = this.faults.reorder ?? 0;
    if (window < 2) return this.delay(bytes, deliver);
    this.held.push({ bytes, deliver });
    if (this.held.length >= window) return this.release();
    if (!this.holdTimer) {
      this.holdTimer = setTimeout(() => this.release(), this.faults.holdMs ?? 50);
      this.timers.add(this.holdTimer);
    }
  }

  private release(): void {
    if (this.holdTimer) this.timers.delete(this.holdTimer);
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const batch = this.held.reverse();
    this.held = [];
    for (const { bytes, deliver } of batch) this.delay(bytes, deliver);
  }

  private delay(bytes: Uint8Array, deliver: (b: Uint8Array) => void): void {
    const ms = this.faults.delayMs ?? 0;
    const go = () => {
      this.tally.forwarded++;
      deliver(bytes);
    };
    if (ms <= 0) return go();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      go();
    }, ms);
    this.timers.add(timer);
  }
}

/** UdpSide is the relay's connected socket towards the upstream, for one client. */
interface UdpSide {
  send(data: Uint8Array): boolean;
  close(): void;
}

/**
 * udpRelay listens on 127.0.0.1 (or ::1 for an IPv6 upstream) port 0 and forwards each client's
 * datagrams to the upstream from a socket of its own, so replies find their way back to the right client.
 */
export async function udpRelay(opts: UdpRelayOptions): Promise<UdpRelay> {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const up = new Direction(opts.up ?? {}, timers);
  const down = new Direction(opts.down ?? {}, timers);
  const local = opts.upstream.host.includes(":") ? "::1" : "127.0.0.1";
  /** sides maps a client "address port" to its upstream socket (a promise while it binds). */
  const sides = new Map<string, Promise<UdpSide | undefined>>();
  const upstreams: UdpSide[] = [];
  let stopped = false;

  const front = await Bun.udpSocket({
    hostname: local,
    port: 0,
    socket: {
      data(_sock, message, port, address) {
        if (stopped) return;
        const key = `${address} ${port}`;
        let side = sides.get(key);
        if (!side) {
          if (sides.size >= MAX_CLIENTS) return void up.tally.dropped++;
          side = openSide(address, port);
          sides.set(key, side);
        }
        const bytes = message.slice();
        up.pass(bytes, (b) => {
          void side.then((s) => {
            try {
              if (!stopped) s?.send(b);
            } catch {}
          });
        });
      },
      // ICMP errors for clients that have gone: not the relay's concern.
      error() {},
    },
  });

  function openSide(clientAddress: string, clientPort: number): Promise<UdpSide | undefined> {
    const bound = Bun.udpSocket({
      hostname: local,
      port: 0,
      connect: { hostname: opts.upstream.host, port: opts.upstream.port },
      socket: {
        data(_sock: unknown, message: Uint8Array) {
          if (stopped) return;
          down.pass(message.slice(), (b) => {
            try {
              if (!stopped) front.send(b, clientPort, clientAddress);
            } catch {}
          });
        },
        error() {},
      },
    } as never) as unknown as Promise<UdpSide>;
    return bound.then(
      (s) => {
        if (stopped) s.close();
        else upstreams.push(s);
        return s;
      },
      () => undefined,
    );
  }

  return {
    host: local,
    port: front.port,
    up: up.tally,
    down: down.tally,
    get clients() {
      return sides.size;
    },
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      front.close();
      for (const s of upstreams) s.close();
    },
  };
}

/** StreamFaults are what happens to bytes going one way through the TCP relay. */
export interface StreamFaults {
  /** delayMs holds every chunk this long before writing it on. */
  delayMs?: number;
  /** tiny writes 1 to 3 bytes at a time (sizes drawn from `seed`), pausing pauseMs between writes. */
  tiny?: boolean;
  pauseMs?: number;
  seed?: number;
  /** resetAfter: once this many bytes have gone this way, both sides are reset (RST), resetDelayMs later. */
  resetAfter?: number;
  resetDelayMs?: number;
  /** stallAfter: once this many bytes have come this way, the relay stops reading from the sender (a peer that stops reading). */
  stallAfter?: number;
}

export interface TcpRelayOptions {
  upstream: Upstream;
  /** up is client → server, down is server → client. */
  up?: StreamFaults;
  down?: StreamFaults;
}

export interface TcpRelay {
  readonly host: string;
  readonly port: number;
  /** accepted counts client connections; resets counts connections the relay reset on purpose. */
  readonly accepted: number;
  readonly resets: number;
  /** up and down count bytes: received from the sender and forwarded to the receiver. */
  readonly up: Tally;
  readonly down: Tally;
  stop(): void;
}

/** HIGH_WATER is how much the relay buffers one way before it stops reading the sender (TCP backpressure passes through). */
const HIGH_WATER = 1 << 20;

/** Pipe moves bytes one way, from `src` to `dst`, with that direction's faults. */
class Pipe {
  dst: Socket<any> | undefined;
  private queue: { bytes: Uint8Array; at: number }[] = [];
  private queued = 0;
  private ended = false;
  private shut = false;
  private busy = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private passed = 0;
  private paused = false;
  private stalled = false;
  private readonly random: () => number;

  constructor(
    readonly faults: StreamFaults,
    readonly tally: Tally,
    private readonly src: () => Socket<any> | undefined,
    private readonly reset: () => void,
  ) {
    this.random = seeded(faults.seed ?? 7);
  }

  /** push takes a chunk the sender wrote. */
  push(chunk: Uint8Array): void {
    const f = this.faults;
    this.tally.received += chunk.length;
    let bytes = chunk.slice();
    if (f.resetAfter !== undefined) {
      const room = f.resetAfter - this.passed;
      if (room <= 0) return;
      if (bytes.length >= room) bytes = bytes.subarray(0, room);
    }
    this.passed += bytes.length;
    this.queue.push({ bytes, at: performance.now() + (f.delayMs ?? 0) });
    this.queued += bytes.length;
    if (f.stallAfter !== undefined && this.passed >= f.stallAfter && !this.stalled) {
      this.stalled = true;
      this.src()?.pause();
    } else if (this.queued > HIGH_WATER && !this.paused) {
      this.paused = true;
      this.src()?.pause();
    }
    this.pump();
  }

  /** end: the sender half-closed; the receiver gets a FIN once the queue is out. */
  end(): void {
    this.ended = true;
    this.pump();
  }

  /** pump writes what is due; called again on drain and by its own timers. */
  pump(): void {
    const dst = this.dst;
    if (!dst || this.busy || this.shut) return;
    const f = this.faults;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const wait = head.at - performance.now();
      if (wait > 0) return this.later(wait);
      const size = f.tiny ? 1 + Math.floor(this.random() * 3) : head.bytes.length;
      const piece = head.bytes.subarray(0, size);
      const written = dst.write(piece);
      if (written < 0) return;
      this.tally.forwarded += written;
      this.queued -= written;
      head.bytes = head.bytes.subarray(written);
      if (head.bytes.length === 0) this.queue.shift();
      if (this.paused && this.queued < HIGH_WATER / 4) {
        this.paused = false;
        if (!this.stalled) this.src()?.resume();
      }
      // A partial write waits for drain.
      if (written < piece.length) return;
      if (f.tiny) return this.later(f.pauseMs ?? 1);
    }
    if (f.resetAfter !== undefined && this.passed >= f.resetAfter) {
      this.shut = true;
      this.timer = setTimeout(this.reset, f.resetDelayMs ?? 20);
      return;
    }
    if (this.ended) {
      this.shut = true;
      dst.shutdown();
    }
  }

  private later(ms: number): void {
    this.busy = true;
    this.timer = setTimeout(() => {
      this.busy = false;
      this.pump();
    }, ms);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.shut = true;
  }
}

/** Link is one relayed connection: the client's socket, the upstream socket and a pipe each way. */
interface Link {
  client: Socket<Link>;
  server?: Socket;
  up: Pipe;
  down: Pipe;
  done: boolean;
  /** gone counts the sides closed: at 2 the link is forgotten. */
  gone: number;
}

/**
 * tcpRelay accepts on 127.0.0.1 (or ::1) port 0, connects each client to the upstream, and pipes
 * both ways with backpressure, applying each direction's faults.
 */
export function tcpRelay(opts: TcpRelayOptions): TcpRelay {
  const upTally: Tally = { received: 0, dropped: 0, forwarded: 0 };
  const downTally: Tally = { received: 0, dropped: 0, forwarded: 0 };
  const links = new Set<Link>();
  let accepted = 0;
  let resets = 0;
  const local = opts.upstream.host.includes(":") ? "::1" : "127.0.0.1";

  const close = (link: Link, hard: boolean) => {
    if (link.done) return;
    link.done = true;
    links.delete(link);
    link.up.stop();
    link.down.stop();
    if (hard) {
      link.client.terminate();
      link.server?.terminate();
    } else {
      link.client.end();
      link.server?.end();
    }
  };

  const forget = (link: Link) => {
    if (++link.gone < 2) return;
    link.done = true;
    links.delete(link);
    link.up.stop();
    link.down.stop();
  };

  const listener: TCPSocketListener<Link> = Bun.listen<Link>({
    hostname: local,
    port: 0,
    allowHalfOpen: true,
    socket: {
      open(client) {
        accepted++;
        const link: Link = { client, done: false, gone: 0 } as Link;
        const resetBoth = () => {
          resets++;
          close(link, true);
        };
        link.up = new Pipe(opts.up ?? {}, upTally, () => link.client, resetBoth);
        link.down = new Pipe(opts.down ?? {}, downTally, () => link.server, resetBoth);
        link.down.dst = client;
        client.data = link;
        links.add(link);
        Bun.connect({
          hostname: opts.upstream.host,
          port: opts.upstream.port,
          allowHalfOpen: true,
          socket: {
            open(server) {
              if (link.done) return void server.terminate();
              link.server = server;
              link.up.dst = server;
              link.up.pump();
            },
            data: (_s, chunk) => link.down.push(chunk),
            drain: () => link.up.pump(),
            end: () => link.down.end(),
            close() {
              link.down.end();
              forget(link);
            },
            // The server reset or vanished: pass the reset on to the client.
            error: () => close(link, true),
            connectError: () => close(link, true),
          },
        }).catch(() => close(link, true));
      },
      data: (client, chunk) => client.data.up.push(chunk),
      drain: (client) => client.data.down.pump(),
      end: (client) => client.data.up.end(),
      close(client) {
        client.data?.up.end();
        if (client.data) forget(client.data);
      },
      error: (client) => close(client.data, true),
    },
  });

  return {
    host: local,
    port: listener.port,
    get accepted() {
      return accepted;
    },
    get resets() {
      return resets;
    },
    up: upTally,
    down: downTally,
    stop() {
      for (const link of [...links]) close(link, true);
      listener.stop(true);
    },
  };
}
