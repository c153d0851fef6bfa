// The stream adapter: any Protocol's stream side as a TCP server, and a send-then-read client.
import type { Socket } from "bun";
import { errnoCode, NetError } from "../errors.ts";
import type { Protocol, StreamSession } from "../protocol/protocol.ts";
import { hostPort, plainAddress, resolveHost } from "./address.ts";
import { bindOrExplain, newCounters, type Listener, type ListenOptions } from "./listener.ts";
import type { Target } from "./target.ts";

/** HIGH_WATER is the output a slow reader may leave pending before the server stops reading from it. */
const HIGH_WATER = 1 << 20;

/** PULLS_PER_TURN bounds how much a talking server (chargen) writes before letting other connections run. */
const PULLS_PER_TURN = 16;

/** Connection is the server's state for one accepted socket. */
interface Connection {
  session: StreamSession;
  /** queue holds output the kernel has not taken yet, oldest first. */
  queue: Uint8Array[];
  queued: number;
  paused: boolean;
  /** closing is set once no more output will be made: end the socket when the queue empties. */
  closing: boolean;
  closed: boolean;
}

type ServerSocket = Socket<Connection | undefined>;

/** serveTcp serves each accepted connection on its own, while the listening socket keeps accepting. */
export async function serveTcp(protocol: Protocol, opts: ListenOptions): Promise<Listener> {
  const counters = newCounters();
  const server = await bindOrExplain("tcp", opts, (hostname) =>
    Bun.listen<Connection | undefined>({
      hostname,
      port: opts.port,
      // The peer's FIN ends its input, not our output: the reply still has to go out.
      allowHalfOpen: true,
      socket: {
        open(sock) {
          const address = plainAddress(sock.remoteAddress);
          if (opts.allow && !opts.allow.allows(address)) {
            counters.denied++;
            return void sock.end();
          }
          const session = protocol.stream({ transport: "tcp", address, port: sock.remotePort });
          const conn: Connection = { session, queue: [], queued: 0, paused: false, closing: false, closed: false };
          sock.data = conn;
          const greeting = session.greet?.();
          if (greeting && greeting.length > 0) send(sock, conn, greeting);
          if (session.closeAfterGreeting) finish(sock, conn);
          else if (session.pull) produce(sock, conn);
        },
        data(sock, chunk) {
          const conn = sock.data;
          if (!conn || conn.closing) return;
          const out = conn.session.data?.(chunk);
          if (out && out.length > 0) send(sock, conn, out);
        },
        end(sock) {
          const conn = sock.data;
          if (!conn) return void sock.end();
          if (conn.closing) return;
          const out = conn.session.end?.();
          if (out && out.length > 0) send(sock, conn, out);
          finish(sock, conn);
        },
        drain(sock) {
          if (sock.data) flush(sock, sock.data);
        },
        close(sock) {
          if (sock.data) sock.data.closed = true;
        },
        // A reset from one client concerns that connection only.
        error() {},
      },
    }),
  );
  return {
    transport: "tcp",
    host: server.hostname,
    port: server.port,
    counters,
    stop: () => server.stop(true),
  };
}

/** send writes what the kernel takes now and queues the rest for `drain`, pausing input past HIGH_WATER. */
function send(sock: ServerSocket, conn: Connection, bytes: Uint8Array): void {
  if (conn.queued === 0) {
    const written = sock.write(bytes);
    if (written < 0) conn.closed = true;
    if (written < 0 || written === bytes.length) return;
    bytes = bytes.subarray(written);
  }
  conn.queue.push(bytes);
  conn.queued += bytes.length;
  if (!conn.paused && conn.queued > HIGH_WATER) {
    conn.paused = true;
    sock.pause();
  }
}

/** finish marks the end of output: the socket ends once the queue is empty. */
function finish(sock: ServerSocket, conn: Connection): void {
  conn.closing = true;
  if (conn.queued === 0) sock.end();
}

/** flush hands queued output to the kernel after a drain, resuming input once the queue is low again. */
function flush(sock: ServerSocket, conn: Connection): void {
  while (conn.queue.length > 0) {
    const head = conn.queue[0]!;
    const written = sock.write(head);
    if (written < 0) {
      conn.queue = [];
      conn.queued = 0;
      return;
    }
    conn.queued -= written;
    if (written < head.length) {
      conn.queue[0] = head.subarray(written);
      return;
    }
    conn.queue.shift();
  }
  if (conn.paused && conn.queued <= HIGH_WATER / 2) {
    conn.paused = false;
    sock.resume();
  }
  if (conn.closing) sock.end();
  else if (conn.session.pull) produce(sock, conn);
}

/**
 * produce writes what a talking server makes for as long as the kernel takes it whole; the first
 * partial write leaves the rest queued and `drain` brings us back, so a slow reader costs one piece.
 */
function produce(sock: ServerSocket, conn: Connection): void {
  for (let turn = 0; turn < PULLS_PER_TURN; turn++) {
    if (conn.closing || conn.closed || conn.queued > 0) return;
    send(sock, conn, conn.session.pull!());
  }
  // Everything was taken at once: let other connections run, then go on.
  setImmediate(() => {
    if (conn.queued === 0) produce(sock, conn);
  });
}

export interface TcpRequestOptions {
  /** timeoutMs bounds the connect, and each wait for the server to read or answer. */
  timeoutMs: number;
  /** onData receives the reply as it arrives. */
  onData(chunk: Uint8Array): void;
  /** halfClose: send FIN after the payload (the default); a server that talks until the client goes (chargen) must not get one. */
  halfClose?: boolean;
  /** maxBytes ends the exchange, from our side, once this much has arrived. */
  maxBytes?: number;
}

/** StreamReply sums up a TCP exchange: bytes received, time to the first reply byte, and the address used. */
export interface StreamReply {
  readonly bytes: number;
  readonly rttMs: number;
  readonly address: string;
}

/**
 * tcpRequest is the textbook's TCP client: connect, send the payload, half-close, and read until
 * the server closes. Addresses of a host name are tried in turn while they refuse.
 */
export async function tcpRequest(target: Target, payload: Uint8Array, opts: TcpRequestOptions): Promise<StreamReply> {
  const addresses = await resolveHost(target.host, "tcp");
  let lastError: unknown;
  for (const address of addresses) {
    try {
      return await converse(address, target.port, payload, opts);
    } catch (err) {
      lastError = err;
      if (!(err instanceof NetError && err.op === "connect" && err.code === "ECONNREFUSED")) throw err;
    }
  }
  throw lastError;
}

function converse(address: string, port: number, payload: Uint8Array, opts: TcpRequestOptions): Promise<StreamReply> {
  const where = hostPort(address, port);
  return new Promise<StreamReply>((resolve, reject) => {
    let connected = false;
    let settled = false;
    let pending = payload;
    let received = 0;
    let sentAt = 0;
    let firstByteAt: number | undefined;
    let socket: Socket | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        socket?.terminate();
        reject(err);
      } else {
        resolve({ bytes: received, rttMs: (firstByteAt ?? performance.now()) - sentAt, address });
      }
    };
    // One timer: for the connect first, then for each wait in which nothing moves.
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const op = connected ? "read" : "connect";
        settle(new NetError(op, "tcp", where, `timed out after ${opts.timeoutMs}ms`, "ETIMEDOUT", "try --timeout"));
      }, opts.timeoutMs);
    };
    // Writes what the kernel takes; once everything is out, half-close so the server sees the end.
    const pump = (sock: Socket) => {
      while (pending.length > 0) {
        const written = sock.write(pending);
        if (written <= 0) return;
        pending = pending.subarray(written);
      }
      if (opts.halfClose !== false) sock.shutdown();
    };

    arm();
    Bun.connect({
      hostname: address,
      port,
      allowHalfOpen: true,
      socket: {
        open(sock) {
          socket = sock;
          if (settled) return void sock.terminate();
          connected = true;
          sentAt = performance.now();
          arm();
          pump(sock);
        },
        data(sock, chunk) {
          if (settled) return;
          firstByteAt ??= performance.now();
          const room = (opts.maxBytes ?? Infinity) - received;
          const take = chunk.length > room ? chunk.subarray(0, room) : chunk;
          received += take.length;
          arm();
          opts.onData(take);
          if (received >= (opts.maxBytes ?? Infinity)) {
            sock.end();
            settle();
          }
        },
        drain(sock) {
          arm();
          pump(sock);
        },
        end(sock) {
          sock.end();
          settle();
        },
        close() {
          settle();
        },
        error(_sock, err) {
          settle(NetError.from("read", "tcp", where, err));
        },
        connectError(_sock, err) {
          settle(connectError(where, err));
        },
      },
    }).catch((err) => settle(connectError(where, err)));
  });
}

function connectError(where: string, err: unknown): NetError {
  const refused = errnoCode(err) === "ECONNREFUSED";
  return NetError.from("connect", "tcp", where, err, refused ? "is a server running there?" : undefined);
}
