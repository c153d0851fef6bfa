// The stream adapter, server side: any Protocol's stream side as a TCP server.
import type { Socket } from "bun";
import type { Protocol, StreamSession } from "../protocol/protocol.ts";
import { plainAddress } from "./address.ts";
import { bindOrExplain, DEFAULT_LIMITS, newCounters, type CloseReason, type Counters, type Limits, type Listener, type ListenOptions } from "./listener.ts";

/** PULLS_PER_TURN bounds how much a talking server (chargen) writes before letting other connections run. */
const PULLS_PER_TURN = 16;

/** ServerState is what every connection of one listener shares. */
interface ServerState {
  readonly counters: Counters;
  readonly limits: Limits;
  readonly onEvent: ListenOptions["onEvent"];
  /** connections are the open ones, for the idle sweep and the count against --max-connections. */
  readonly connections: Set<ServerSocket>;
}

/** Connection is the server's state for one accepted socket. */
interface Connection {
  readonly server: ServerState;
  readonly session: StreamSession;
  readonly peer: string;
  readonly port: number;
  readonly openedAt: number;
  /** lastActive is when a byte last moved either way, for --idle-timeout. */
  lastActive: number;
  bytesIn: number;
  bytesOut: number;
  /** queue holds output the kernel has not taken yet, oldest first. */
  queue: Uint8Array[];
  queued: number;
  paused: boolean;
  /** closing is set once no more output will be made: end the socket when the queue empties. */
  closing: boolean;
  /** closed: the socket takes no more writes. */
  closed: boolean;
  /** counted: its close has been counted and reported, once. */
  counted: boolean;
  /** reason is why the connection is ending, once something other than the peer decided it. */
  reason?: CloseReason;
}

type ServerSocket = Socket<Connection | undefined>;

/** serveTcp serves each accepted connection on its own, while the listening socket keeps accepting. */
export async function serveTcp(protocol: Protocol, opts: ListenOptions): Promise<Listener> {
  const state: ServerState = {
    counters: newCounters(),
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
    onEvent: opts.onEvent,
    connections: new Set(),
  };
  const { counters, limits, onEvent, connections } = state;
  const server = await bindOrExplain("tcp", opts, (hostname) =>
    Bun.listen<Connection | undefined>({
      hostname,
      port: opts.port,
      // The peer's FIN ends its input, not our output: the reply still has to go out.
      allowHalfOpen: true,
      socket: {
        open(sock) {
          const peer = plainAddress(sock.remoteAddress);
          if (opts.allow && !opts.allow.allows(peer)) {
            counters.denied++;
            return void sock.end();
          }
          if (connections.size >= limits.maxConnections) {
            counters.overLimit++;
            onEvent?.({ event: "limit", transport: "tcp", limit: "max-connections", peer, port: sock.remotePort });
            return void sock.end();
          }
          const now = Date.now();
          const session = protocol.stream({ transport: "tcp", address: peer, port: sock.remotePort });
          const conn: Connection = {
            server: state, session, peer, port: sock.remotePort, openedAt: now, lastActive: now,
            bytesIn: 0, bytesOut: 0, queue: [], queued: 0, paused: false, closing: false, closed: false, counted: false,
          };
          sock.data = conn;
          connections.add(sock);
          counters.connections++;
          counters.open = connections.size;
          onEvent?.({ event: "open", transport: "tcp", peer, port: conn.port });
          const greeting = session.greet?.();
          if (greeting && greeting.length > 0) send(sock, conn, greeting);
          if (session.closeAfterGreeting) finish(sock, conn);
          else if (session.pull) produce(sock, conn);
        },
        data(sock, chunk) {
          const conn = sock.data;
          if (!conn || conn.closing) return;
          conn.bytesIn += chunk.length;
          counters.bytesIn += chunk.length;
          conn.lastActive = Date.now();
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
        close(sock, err) {
          const conn = sock.data;
          if (!conn || conn.counted) return;
          conn.counted = true;
          conn.closed = true;
          connections.delete(sock);
          counters.open = connections.size;
          onEvent?.({
            event: "close", transport: "tcp", peer: conn.peer, port: conn.port, bytes_in: conn.bytesIn, bytes_out: conn.bytesOut,
            duration_ms: Date.now() - conn.openedAt, reason: conn.reason ?? (err || conn.queued > 0 ? "reset" : "done"),
          });
        },
        // A reset from one client concerns that connection only.
        error() {},
      },
    }),
  );
  const sweeper = limits.idleTimeoutMs > 0 ? setInterval(() => closeIdle(state), Math.min(1000, Math.max(10, limits.idleTimeoutMs / 4))) : undefined;
  sweeper?.unref();
  return {
    transport: "tcp",
    host: server.hostname,
    port: server.port,
    counters,
    close: () => server.stop(false),
    stop() {
      clearInterval(sweeper);
      for (const sock of connections) if (sock.data) sock.data.reason ??= "shutdown";
      server.stop(true);
    },
  };
}

/** closeIdle closes the connections where nothing has moved for --idle-timeout: a silent client, or one that stopped reading. */
function closeIdle(state: ServerState): void {
  const deadline = Date.now() - state.limits.idleTimeoutMs;
  for (const sock of state.connections) {
    const conn = sock.data;
    if (!conn || conn.lastActive > deadline) continue;
    conn.reason = "idle";
    state.counters.idleClosed++;
    state.onEvent?.({ event: "limit", transport: "tcp", limit: "idle-timeout", peer: conn.peer, port: conn.port });
    // Output that the peer will not read would hold a graceful close open: reset instead.
    if (conn.queued > 0) sock.terminate();
    else sock.end();
    state.connections.delete(sock);
  }
  state.counters.open = state.connections.size;
}

/** send writes what the kernel takes now and queues the rest for `drain`, pausing input past --max-pending. */
function send(sock: ServerSocket, conn: Connection, bytes: Uint8Array): void {
  if (conn.queued === 0) {
    const written = sock.write(bytes);
    if (written < 0) {
      conn.closed = true;
      return;
    }
    wrote(conn, written);
    if (written === bytes.length) return;
    bytes = bytes.subarray(written);
  }
  conn.queue.push(bytes);
  conn.queued += bytes.length;
  if (!conn.paused && conn.queued > conn.server.limits.maxPending) {
    conn.paused = true;
    sock.pause();
  }
}

function wrote(conn: Connection, n: number): void {
  if (n <= 0) return;
  conn.bytesOut += n;
  conn.server.counters.bytesOut += n;
  conn.lastActive = Date.now();
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
    wrote(conn, written);
    conn.queued -= written;
    if (written < head.length) {
      conn.queue[0] = head.subarray(written);
      return;
    }
    conn.queue.shift();
  }
  if (conn.paused && conn.queued <= conn.server.limits.maxPending / 2) {
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
