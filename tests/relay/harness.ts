// What the relay tests share: a relay started in-process and stopped with the test, TCP and UDP peers written for the
// tests.
import type { Socket, TCPSocketListener } from "bun";
import type { DirectionFaults } from "../../src/relay/faults.ts";
import { type Relay, type RelayEvent, type RelayOptions, startRelay } from "../../src/relay/relay.ts";
import type { Limits } from "../../src/transport/listener.ts";
import type { Transport } from "../../src/transport/transport.ts";

/** Cleanup collects what a test started, so afterEach stops it even when the test failed. */
export class Cleanup {
  private readonly stops: (() => void)[] = [];
  add(stop: () => void): void {
    this.stops.push(stop);
  }
  run(): void {
    for (const stop of this.stops.splice(0).reverse()) {
      try {
        stop();
      } catch {}
    }
  }
}

export interface TestRelayOptions {
  transport?: Transport;
  target: number;
  targetHost?: string;
  listenHost?: string;
  up?: DirectionFaults;
  down?: DirectionFaults;
  seed?: number;
  limits?: Partial<Limits>;
  allow?: RelayOptions["allow"];
  budgets?: RelayOptions["budgets"];
  connectTimeoutMs?: number;
  udpReplyRate?: number;
}

/** TestRelay is a started relay and every event it reported. */
export interface TestRelay extends Relay {
  events: RelayEvent[];
}

/** relay starts the product's relay on 127.0.0.1 (or listenHost) port 0 in front of the target. */
export async function relay(cleanup: Cleanup, o: TestRelayOptions): Promise<TestRelay> {
  const events: RelayEvent[] = [];
  const listenHost = o.listenHost ?? "127.0.0.1";
  const r = await startRelay({
    transport: o.transport ?? "tcp",
    listen: { host: listenHost, port: 0 },
    target: { host: o.targetHost ?? "127.0.0.1", port: o.target },
    faults: { up: o.up ?? {}, down: o.down ?? {}, seed: o.seed ?? 1 },
    limits: o.limits,
    allow: o.allow,
    budgets: o.budgets,
    connectTimeoutMs: o.connectTimeoutMs,
    udpReplyRate: o.udpReplyRate,
    onEvent: (e) => events.push(e),
  });
  cleanup.add(() => r.stop());
  return Object.assign(r, { events });
}

/** Heard is one datagram as a test peer received it: its bytes, its source port, and when. */
export interface Heard {
  bytes: Uint8Array;
  port: number;
  at: number;
}

/** udpTarget records every datagram (and its source port) and answers each with "re:" and the datagram. */
export async function udpTarget(cleanup: Cleanup, answer = true) {
  const heard: Heard[] = [];
  const sock = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(s, message, port, address) {
        heard.push({ bytes: new Uint8Array(message), port, at: performance.now() });
        if (answer) s.send(Buffer.concat([Buffer.from("re:"), message]), port, address);
      },
      error() {},
    },
  });
  cleanup.add(() => sock.close());
  return { port: sock.port, heard };
}

/** udpClient is one client address (127.0.0.1, or another of the loopback /8) and port; it records what comes back. */
export async function udpClient(cleanup: Cleanup, host = "127.0.0.1") {
  const got: Heard[] = [];
  const sock = await Bun.udpSocket({
    hostname: host,
    port: 0,
    socket: {
      data: (_s, message, port) => void got.push({ bytes: new Uint8Array(message), port, at: performance.now() }),
      error() {},
    },
  });
  cleanup.add(() => sock.close());
  return {
    send: (r: Relay, data: string | Uint8Array) =>
      sock.send(typeof data === "string" ? Buffer.from(data) : data, r.port, "127.0.0.1"),
    got,
    port: sock.port,
  };
}

/** Received is what one side of a TCP connection read, how it ended, and when each read came. */
export interface Received {
  bytes: Uint8Array;
  /** reads are the sizes of the reads, in order (each is one data event). */
  reads: number[];
  /** times are when each read came (performance.now()). */
  times: number[];
  /** end: "fin" for a clean close or half-close, "reset" for an RST or error. */
  end: "fin" | "reset" | "open";
  endedAt: number;
}

/**
 * Target is a TCP server written for the tests: it sends `reply` (at once, or after the client's FIN) and records what
 * came.
 */
export interface TcpTarget {
  port: number;
  /** connections are what each accepted connection received, in the order they opened. */
  connections: Received[];
  /** sockets are the accepted sockets, to reset or end them from a test. */
  sockets: Socket<unknown>[];
  stop(): void;
}

export interface TargetBehaviour {
  reply?: Uint8Array;
  /** afterFin: reply only once the client has half-closed; otherwise at once, then half-close. */
  afterFin?: boolean;
  /** silent: never reply, never close. */
  silent?: boolean;
  /** paused: never read either, from the accept on (a target whose application has stopped reading). */
  paused?: boolean;
}

/** tcpTarget starts a target; `behave` is read at each accept, so one target serves a sequence of cases. */
export function tcpTarget(cleanup: Cleanup, behave: () => TargetBehaviour = () => ({}), host = "127.0.0.1"): TcpTarget {
  const connections: Received[] = [];
  const sockets: Socket<unknown>[] = [];
  type State = { rec: Received; out: Uint8Array; plan: TargetBehaviour; shut: boolean };
  const flush = (s: Socket<State>) => {
    const st = s.data;
    while (st.out.length > 0) {
      const n = s.write(st.out);
      if (n <= 0) return;
      st.out = st.out.subarray(n);
    }
    if (!st.shut) {
      st.shut = true;
      s.shutdown();
    }
  };
  const listener: TCPSocketListener<State> = Bun.listen<State>({
    hostname: host,
    port: 0,
    allowHalfOpen: true,
    socket: {
      open(s) {
        const plan = behave();
        const rec: Received = { bytes: new Uint8Array(0), reads: [], times: [], end: "open", endedAt: 0 };
        connections.push(rec);
        sockets.push(s as Socket<unknown>);
        s.data = { rec, out: plan.reply ?? new Uint8Array(0), plan, shut: false };
        if (plan.paused) s.pause();
        if (!plan.afterFin && !plan.silent) flush(s);
      },
      data(s, chunk) {
        const rec = s.data.rec;
        rec.bytes = concat(rec.bytes, chunk);
        rec.reads.push(chunk.length);
        rec.times.push(performance.now());
      },
      end(s) {
        s.data.rec.end = "fin";
        s.data.rec.endedAt = performance.now();
        if (s.data.plan.afterFin && !s.data.plan.silent) flush(s);
      },
      drain: (s) => flush(s),
      close(s, err) {
        if (s.data.rec.end === "open") {
          s.data.rec.end = err ? "reset" : "fin";
          s.data.rec.endedAt = performance.now();
        }
      },
      error(s) {
        s.data.rec.end = "reset";
        s.data.rec.endedAt = performance.now();
      },
    },
  });
  cleanup.add(() => listener.stop(true));
  return { port: listener.port, connections, sockets, stop: () => listener.stop(true) };
}

/** Client is a TCP client written for the tests: it sends, may half-close, and records what comes back. */
export interface TcpClient {
  rec: Received;
  socket: Socket<unknown>;
  /** sent counts the bytes the kernel has taken from it. */
  sent(): number;
  /** done resolves once the connection has ended (FIN or reset). */
  done: Promise<Received>;
}

/**
 * tcpClient connects, writes `data` (as fast as the socket takes it) and, with `halfClose`, shuts its side down after.
 */
export async function tcpClient(
  cleanup: Cleanup,
  port: number,
  data: Uint8Array,
  halfClose = true,
  host = "127.0.0.1",
): Promise<TcpClient> {
  const rec: Received = { bytes: new Uint8Array(0), reads: [], times: [], end: "open", endedAt: 0 };
  let out = data;
  let sent = 0;
  let finish: (r: Received) => void = () => {};
  const done = new Promise<Received>((resolve) => (finish = resolve));
  const ended = (how: "fin" | "reset") => {
    if (rec.end !== "open") return;
    rec.end = how;
    rec.endedAt = performance.now();
    finish(rec);
  };
  const flush = (s: Socket<unknown>) => {
    while (out.length > 0) {
      const n = s.write(out);
      if (n <= 0) return;
      sent += n;
      out = out.subarray(n);
    }
    if (halfClose) s.shutdown();
  };
  const socket = await Bun.connect({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: {
      open: (s) => flush(s),
      data(_s, chunk) {
        rec.bytes = concat(rec.bytes, chunk);
        rec.reads.push(chunk.length);
        rec.times.push(performance.now());
      },
      drain: (s) => flush(s),
      end: () => ended("fin"),
      close: (_s, err) => ended(err ? "reset" : "fin"),
      error: () => ended("reset"),
    },
  });
  cleanup.add(() => socket.terminate());
  return { rec, socket, sent: () => sent, done };
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return new Uint8Array(b);
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
