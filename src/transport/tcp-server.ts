// The stream adapter, server side: any Protocol's stream side as a TCP server.
import type { Socket } from "bun";
import type { Protocol, StreamSession } from "../protocol/protocol.ts";
import { plainAddress } from "./address.ts";
import {
  bindOrExplain,
  DEFAULT_LIMITS,
  newCounters,
  type CloseReason,
  type Counters,
  type Limits,
  type Listener,
  type ListenOptions,
} from "./listener.ts";
import type { OutputBudget } from "./output-budget.ts";
import { Gate, newBudgets } from "./gate.ts";
import { listenTcp } from "./bun-socket.ts";
import { WriteQueue } from "./write-queue.ts";
import { EXPIRY_LIMIT, expiryOf, startSweep } from "./expiry.ts";

/** PULLS_PER_TURN bounds how much a talking server (chargen) writes before letting other connections run. */
const PULLS_PER_TURN = 16;

/** ServerState is what every connection of one listener shares. */
interface ServerState {
  readonly counters: Counters;
  readonly limits: Limits;
  readonly onEvent: ListenOptions["onEvent"];
  /** connections are the open ones, for the idle sweep and the count against --max-connections. */
  readonly connections: Set<ServerSocket>;
  /** gate admits each connection (--allow, --max-connections, --max-per-address) and takes its slot back. */
  readonly gate: Gate;
  /** output is the queued-output total, against --max-output, shared with the process's other listeners. */
  readonly output: OutputBudget;
}

/** Connection is the server's state for one accepted socket. */
interface Connection {
  readonly server: ServerState;
  readonly session: StreamSession;
  readonly peer: string;
  /** key is the peer as --max-per-address counts it. */
  readonly key: string;
  readonly port: number;
  readonly openedAt: number;
  /** lastActive is when a byte last moved either way, for --idle-timeout. */
  lastActive: number;
  bytesIn: number;
  bytesOut: number;
  /** queue holds output the kernel has not taken yet, oldest first. */
  out: WriteQueue;
  paused: boolean;
  /** closing is set once no more output will be made: end the socket when the queue empties. */
  closing: boolean;
  /** closed: the socket takes no more writes. */
  closed: boolean;
  /** counted: its close has been counted and reported, once. */
  counted: boolean;
  /** reason is why the connection is ending, once something other than the peer decided it. */
  reason?: CloseReason;
  /** wake, while the connection waits for the --max-output total to go down, is what resumes it. */
  wake?: () => void;
}

type ServerSocket = Socket<Connection | undefined>;

/** serveTcp serves each accepted connection on its own, while the listening socket keeps accepting. */
export async function serveTcp(protocol: Protocol, opts: ListenOptions): Promise<Listener> {
  const counters = newCounters();
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const budgets = opts.budgets ?? newBudgets({ ...opts, limits });
  const state: ServerState = {
    counters,
    limits,
    onEvent: opts.onEvent,
    connections: new Set(),
    gate: new Gate(budgets, "tcp", counters, opts.onEvent),
    output: budgets.output,
  };
  const { onEvent, connections, gate } = state;
  const unwatch = state.output.onFull(() => stopReading(state));
  const server = await bindOrExplain("tcp", opts, (hostname) =>
    listenTcp<Connection | undefined>({
      hostname,
      port: opts.port,
      reusePort: opts.reusePort,
      // The peer's FIN ends its input, not our output: the reply still has to go out.
      allowHalfOpen: true,
      socket: {
        open(sock) {
          const peer = plainAddress(sock.remoteAddress);
          // Each read of remotePort asks the kernel (getpeername) again: once is enough.
          const port = sock.remotePort;
          const key = gate.admit(peer, port, connections.size);
          if (key === undefined) return void sock.end();
          const now = Date.now();
          const session = protocol.stream({ transport: "tcp", address: peer, port });
          const conn: Connection = {
            server: state,
            session,
            peer,
            key,
            port,
            openedAt: now,
            lastActive: now,
            bytesIn: 0,
            bytesOut: 0,
            out: new WriteQueue(),
            paused: false,
            closing: false,
            closed: false,
            counted: false,
          };
          sock.data = conn;
          connections.add(sock);
          counters.connections++;
          counters.open = connections.size;
          onEvent?.({ event: "open", transport: "tcp", peer, port: conn.port });
          const greeting = session.greet?.();
          if (greeting && greeting.length > 0) send(sock, conn, greeting);
          if (session.closeAfterGreeting) return finish(sock, conn);
          // The total is closed: a newcomer waits with the rest rather than read past it.
          if (state.output.full && !conn.paused) stopForOutput(sock, conn);
          if (session.pull) produce(sock, conn);
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
          forget(state, conn);
          onEvent?.({
            event: "close",
            transport: "tcp",
            peer: conn.peer,
            port: conn.port,
            bytes_in: conn.bytesIn,
            bytes_out: conn.bytesOut,
            duration_ms: Date.now() - conn.openedAt,
            reason: conn.reason ?? (err || conn.out.queued > 0 ? "reset" : "done"),
          });
        },
        // A reset from one client concerns that connection only.
        error() {},
      },
    }),
  );
  const sweeper = startSweep([limits.idleTimeoutMs, limits.maxLifetimeMs], () => closeExpired(state));
  return {
    transport: "tcp",
    host: server.hostname,
    port: server.port,
    counters,
    close: () => server.stop(false),
    stop() {
      clearInterval(sweeper);
      unwatch();
      for (const sock of connections) if (sock.data) sock.data.reason ??= "shutdown";
      server.stop(true);
    },
  };
}

/** forget takes a closed connection off its address's count and its queued output off the total. */
function forget(state: ServerState, conn: Connection): void {
  state.gate.release(conn.key);
  if (conn.wake) state.output.cancel(conn.wake);
  conn.wake = undefined;
  state.output.release(conn.out.queued);
  conn.out.clear();
}

/**
 * closeExpired closes the connections where nothing has moved for --idle-timeout (a silent client, or
 * one that stopped reading) and those open longer than --max-lifetime (a client that trickles a byte
 * now and then to keep its slot, which the idle timeout never catches).
 */
function closeExpired(state: ServerState): void {
  const now = Date.now();
  for (const sock of state.connections) {
    const conn = sock.data;
    const expired = conn && expiryOf(state.limits, state.counters, conn, now);
    if (!expired) continue;
    conn.reason = expired;
    state.onEvent?.({
      event: "limit",
      transport: "tcp",
      limit: EXPIRY_LIMIT[expired],
      peer: conn.peer,
      port: conn.port,
    });
    // Output that the peer will not read would hold a graceful close open: reset instead.
    if (conn.out.queued > 0) sock.terminate();
    else sock.end();
    state.connections.delete(sock);
  }
  state.counters.open = state.connections.size;
}

/** send writes what the kernel takes now and queues the rest for `drain`, pausing input past --max-pending. */
function send(sock: ServerSocket, conn: Connection, bytes: Uint8Array): void {
  const before = conn.out.queued;
  const taken = conn.out.write(sock, bytes);
  if (taken < 0) {
    conn.closed = true;
    return;
  }
  wrote(conn, taken);
  const kept = conn.out.queued - before;
  if (kept === 0) return;
  // Coming near --max-output, add stops every connection, this one too (stopReading).
  conn.server.output.add(kept);
  if (conn.paused || conn.out.queued <= conn.server.limits.maxPending) return;
  conn.paused = true;
  sock.pause();
}

/**
 * stopReading pauses every connection of a listener still read, once the --max-output total is within a read of
 * its end: any of them could add a read's output before the next check, and a read each would pass it N times over.
 */
function stopReading(state: ServerState): void {
  for (const sock of state.connections) {
    const conn = sock.data;
    if (conn && !conn.paused && !conn.closing && !conn.closed) stopForOutput(sock, conn);
  }
}

/** stopForOutput pauses one connection until the --max-output total is low again. */
function stopForOutput(sock: ServerSocket, conn: Connection): void {
  conn.paused = true;
  sock.pause();
  conn.server.counters.outputPaused++;
  waitForOutput(sock, conn);
}

/** waitForOutput has the connection woken once the --max-output total is low again. */
function waitForOutput(sock: ServerSocket, conn: Connection): void {
  if (conn.wake) return;
  conn.wake = () => {
    conn.wake = undefined;
    if (conn.closed) return;
    resumeIfLow(sock, conn);
    if (!conn.closing && conn.session.pull && conn.out.queued === 0) produce(sock, conn);
  };
  conn.server.output.whenLow(conn.wake);
}

/** resumeIfLow reads from the connection again once its own queue and the total are both low. */
function resumeIfLow(sock: ServerSocket, conn: Connection): void {
  if (!conn.paused || conn.out.queued > conn.server.limits.maxPending / 2) return;
  if (!conn.server.output.low) return waitForOutput(sock, conn);
  conn.paused = false;
  sock.resume();
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
  if (conn.out.queued === 0) sock.end();
}

/** flush hands queued output to the kernel after a drain, resuming input once the queue is low again. */
function flush(sock: ServerSocket, conn: Connection): void {
  const before = conn.out.queued;
  const taken = conn.out.flush(sock);
  if (taken < 0) {
    conn.server.output.release(before);
    return;
  }
  wrote(conn, taken);
  conn.server.output.release(taken);
  if (conn.out.queued > 0) return;
  resumeIfLow(sock, conn);
  if (conn.closing) sock.end();
  else if (conn.session.pull) produce(sock, conn);
}

/**
 * produce writes what a talking server makes for as long as the kernel takes it whole; the first
 * partial write leaves the rest queued and `drain` brings us back, so a slow reader costs one piece.
 */
function produce(sock: ServerSocket, conn: Connection): void {
  for (let turn = 0; turn < PULLS_PER_TURN; turn++) {
    if (conn.closing || conn.closed || conn.out.queued > 0) return;
    // A talker makes output unasked: once the total is closed, it waits like a paused reader.
    if (conn.server.output.full) return waitForOutput(sock, conn);
    send(sock, conn, conn.session.pull!());
  }
  // Everything was taken at once: let other connections run, then go on.
  setImmediate(() => {
    if (conn.out.queued === 0) produce(sock, conn);
  });
}
