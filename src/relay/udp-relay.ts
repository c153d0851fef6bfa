// The UDP relay: a session (a connected socket of its own towards the target) per client address and port, idle
// sessions closed, their number bounded.
import { errnoCode } from "../errors.ts";
import { plainAddress } from "../transport/address.ts";
import { bindOrExplain } from "../transport/listener.ts";
import { loopbackFlow, sourcePrefix } from "../transport/prefix.ts";
import { markServed, unmarkServed } from "../transport/reflection.ts";
import { DatagramPipe } from "./datagram-pipe.ts";
import { randomFor } from "./random.ts";
import { type RelayShared, relayShared } from "./shared.ts";
import type { Relay, RelayCloseReason, RelayOptions } from "./types.ts";
import { anyAddressFor, connectedUdpHandler, listenUdp } from "../transport/bun-socket.ts";
import { expiryOf, startSweep } from "../transport/expiry.ts";
import { clientUdpSocket } from "../transport/client-port.ts";

/** PENDING_DATAGRAMS bounds what a session keeps while its socket towards the target is still being bound. */
const PENDING_DATAGRAMS = 64;

interface UdpSend {
  send(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
}

interface ConnectedUdp {
  send(data: Uint8Array): boolean;
  close(): void;
}

interface Shared extends RelayShared {
  readonly sessions: Map<string, Session>;
  front: UdpSend | undefined;
}

/** Session is one client address and port: its own socket towards the target, and a pipe each way. */
class Session {
  sock: ConnectedUdp | undefined;
  pending: Uint8Array[] = [];
  readonly up: DatagramPipe;
  readonly down: DatagramPipe;
  readonly openedAt = Date.now();
  lastActive = Date.now();
  bytesIn = 0;
  bytesOut = 0;
  /** lastIn is the size of the client's last datagram: one sent back larger is an amplification (--udp-rate). */
  lastIn = 0;
  closed = false;
  error: string | undefined;
  stalled: string[] = [];
  /** prefix is the client's source prefix, whose buckets (--udp-reply-rate, --udp-rate) a datagram sent back spends. */
  private readonly prefix: number | string;
  /** flow is set for a client on this machine: its replies spend its own --udp-reply-rate (Gate.mayReply). */
  private readonly flow: number | undefined;

  constructor(
    readonly shared: Shared,
    readonly key: string,
    readonly address: string,
    readonly peer: string,
    readonly port: number,
    /** slot is the client's address as --max-per-address counts it, given back at the close. */
    readonly slot: string,
  ) {
    this.prefix = sourcePrefix(address);
    this.flow = loopbackFlow(address, port);
    const { faults, limits, output, relay } = shared;
    const n = shared.opened++;
    const pipe = (direction: "up" | "down", send: (b: Uint8Array) => boolean) =>
      new DatagramPipe(
        faults[direction],
        randomFor(faults.seed, n, direction),
        limits.maxPending,
        output,
        send,
        relay[direction],
        relay,
        () => this.stalled.push(`${direction} stall-after`),
      );
    this.up = pipe("up", (b) => this.toTarget(b));
    this.down = pipe("down", (b) => this.toClient(b));
  }

  /** fromClient takes a datagram the client sent. */
  fromClient(bytes: Uint8Array): void {
    this.bytesIn += bytes.length;
    this.lastIn = bytes.length;
    this.lastActive = Date.now();
    this.up.pass(bytes);
  }

  /** fromTarget takes a datagram the target sent back. */
  fromTarget(bytes: Uint8Array): void {
    this.lastActive = Date.now();
    this.down.pass(bytes);
  }

  /** toTarget sends (or, until the socket is bound, keeps) a datagram for the target; false: it was dropped. */
  private toTarget(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    if (!this.sock) {
      if (this.pending.length >= PENDING_DATAGRAMS) {
        this.shared.counters.sendFailed++;
        return false;
      }
      this.pending.push(bytes);
      return true;
    }
    try {
      if (this.sock.send(bytes)) return true;
      this.shared.counters.sendFailed++;
    } catch (err) {
      this.targetError(err);
    }
    return false;
  }

  /**
   * toClient sends a datagram back to the client; false: dropped. Each spends the client prefix's --udp-reply-rate,
   * copies (--duplicate) included; one larger than the client's last datagram also spends its --udp-rate and the
   * relay's --udp-excess, as serve's replies larger than their request do: a forged source gets no more from the
   * relay, whatever the target answers, than from serve.
   */
  private toClient(bytes: Uint8Array): boolean {
    const { front, counters, gate } = this.shared;
    if (!gate.mayReply(this.prefix, bytes.length, this.lastIn, this.flow)) return false;
    try {
      if (front?.send(bytes, this.port, this.address)) {
        counters.datagramsOut++;
        counters.bytesOut += bytes.length;
        this.bytesOut += bytes.length;
        return true;
      }
    } catch {}
    counters.sendFailed++;
    return false;
  }

  /** bound: the socket towards the target is ready; what waited goes now. */
  bound(sock: ConnectedUdp): void {
    if (this.closed) return void sock.close();
    this.sock = sock;
    const waiting = this.pending;
    this.pending = [];
    for (const b of waiting) this.toTarget(b);
  }

  /**
   * targetError: the target refused (ICMP port unreachable) or cannot be reached: the session ends, and a next datagram
   * starts afresh.
   */
  targetError(err: unknown): void {
    if (this.closed) return;
    this.shared.relay.targetFailed++;
    this.error = errnoCode(err) ?? "ECONNREFUSED";
    this.close("target");
  }

  close(reason: RelayCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.up.stop();
    this.down.stop();
    this.sock?.close();
    const { sessions, relay, opts, target, faultNames } = this.shared;
    if (sessions.get(this.key) === this) sessions.delete(this.key);
    this.shared.gate.release(this.slot);
    relay.sessions = sessions.size;
    this.shared.counters.open = sessions.size;
    opts.onEvent?.({
      event: "close",
      transport: "udp",
      peer: this.peer,
      port: this.port,
      target,
      bytes_in: this.bytesIn,
      bytes_out: this.bytesOut,
      forwarded_up: this.up.tally.forwarded,
      forwarded_down: this.down.tally.forwarded,
      dropped_up: this.up.tally.dropped,
      dropped_down: this.down.tally.dropped,
      datagrams_in: this.up.tally.received,
      datagrams_out: this.down.tally.forwarded,
      duration_ms: Date.now() - this.openedAt,
      reason,
      ...(this.error ? { error: this.error } : {}),
      faults: faultNames,
      ...(this.stalled.length > 0 ? { stalled: this.stalled } : {}),
    });
  }
}

/** relayUdp takes datagrams on LISTEN and relays each client's through a session of its own. */
export async function relayUdp(opts: RelayOptions): Promise<Relay> {
  const shared: Shared = { ...relayShared(opts, "udp"), sessions: new Map(), front: undefined };
  const { counters, sessions, relay, limits, gate } = shared;
  // The session sockets bind the target's family (a socket bound for IPv4 cannot send to ::1).
  const local = anyAddressFor(opts.target.host);
  let open = true;

  const openSession = (key: string, address: string, port: number): Session | undefined => {
    const peer = plainAddress(address);
    const slot = gate.hold(peer, port, sessions.size);
    if (slot === undefined) return undefined;
    const session = new Session(shared, key, address, peer, port, slot);
    sessions.set(key, session);
    relay.sessions = sessions.size;
    // The stats line's "open" is the sessions; close() ends them at once, so a drain does not wait on them.
    counters.open = sessions.size;
    counters.connections++;
    opts.onEvent?.({ event: "open", transport: "udp", peer, port });
    clientUdpSocket(() =>
      Bun.udpSocket({
        hostname: local,
        port: 0,
        connect: { hostname: opts.target.host, port: opts.target.port },
        socket: connectedUdpHandler({
          data: (_sock: unknown, message: Uint8Array) => session.fromTarget(message),
          // ICMP port unreachable from the target arrives here (Bun calls it with the socket as `this`).
          error: (err: unknown) => session.targetError(err),
        }),
      }),
    ).then(
      (sock) => session.bound(sock),
      (err) => session.targetError(err),
    );
    return session;
  };

  const front = await bindOrExplain("udp", { host: opts.listen.host, port: opts.listen.port }, (hostname) =>
    listenUdp({
      hostname,
      port: opts.listen.port,
      reusePort: opts.reusePort,
      socket: {
        data(_sock, message, port, address) {
          counters.datagramsIn++;
          counters.bytesIn += message.length;
          if (!open) return;
          const peer = plainAddress(address);
          // The relay answers its clients as a server does: a forged service-port, broadcast or
          // multicast source would make it a reflector or one end of a loop.
          if (!gate.answers(peer, port)) return;
          const key = `${address} ${port}`;
          const session = sessions.get(key) ?? openSession(key, address, port);
          // A copy: the pipe may hold the datagram past this call, and the buffer is Bun's.
          session?.fromClient(new Uint8Array(message));
        },
        // ICMP errors for clients that have gone concern one client, not the relay.
        error() {},
      },
    }),
  );
  shared.front = front;
  markServed(front.port);
  const sweeper = startSweep([limits.idleTimeoutMs, limits.maxLifetimeMs], () => closeExpired(shared));
  const stop = () => {
    if (!open) return;
    open = false;
    clearInterval(sweeper);
    for (const s of [...sessions.values()]) s.close("shutdown");
    unmarkServed(front.port);
    front.close();
  };
  return {
    transport: "udp",
    host: front.hostname,
    port: front.port,
    counters,
    relay,
    // Nothing to drain: a datagram in flight is not a connection waiting to finish.
    close: stop,
    stop,
  };
}

/**
 * closeExpired ends the sessions that have heard nothing either way for --idle-timeout, and those open longer than
 * --max-lifetime (a client that sends now and then to keep its session); the client's next datagram starts afresh.
 */
function closeExpired(shared: Shared): void {
  const now = Date.now();
  const { limits, counters, opts } = shared;
  for (const session of [...shared.sessions.values()]) {
    const expired = expiryOf(limits, counters, session, now);
    if (!expired) continue;
    if (expired === "lifetime")
      opts.onEvent?.({
        event: "limit",
        transport: "udp",
        limit: "max-lifetime",
        peer: session.peer,
        port: session.port,
      });
    session.close(expired);
  }
}
