// What a running server looks like to its caller, whichever transport carries it.
import { errnoCode, NetError } from "../errors.ts";
import { hostPort, resolveHost } from "./address.ts";
import type { AllowList } from "./allow-list.ts";
import type { Budgets } from "./gate.ts";
import { ALL_INTERFACES, ipv4Fallback } from "./bun-socket.ts";
import type { Transport } from "./transport.ts";

// ALL_INTERFACES is where a server binds unless told: commands read it here, beside the bind.
export { ALL_INTERFACES };

export interface ListenOptions {
  /** host is the address to bind: "::" for every interface on both IPv6 and IPv4. */
  host: string;
  /** port to bind; 0 picks any free port. */
  port: number;
  /** allow, when set, is who may be served; others get nothing (UDP) or an immediate close (TCP). */
  allow?: AllowList;
  /** udpRate is how many UDP replies larger than their request one source prefix may get a second. */
  udpRate?: number;
  /** udpReplyRate is how many UDP replies of any size one source prefix may get a second; 0: no limit. */
  udpReplyRate?: number;
  /** udpExcess is how many bytes a second replies may add over their requests' sizes, all sources together. */
  udpExcess?: number;
  /**
   * budgets, when set, are the process's (newBudgets), shared with its other listeners, the --max-output total
   * included; else the listener's own, of allow, limits and the udp options above.
   */
  budgets?: Budgets;
  /** limits bound what TCP peers may hold; DEFAULT_LIMITS where not given. */
  limits?: Partial<Limits>;
  /** onEvent, when set, hears of each connection and each limit hit (for `--log json`). */
  onEvent?(event: ServerEvent): void;
  /** reusePort lets several processes bind the same port (SO_REUSEPORT, Linux): `serve --workers`. */
  reusePort?: boolean;
}

/** Limits are the server's bounds on what a TCP peer may hold. */
export interface Limits {
  /** maxConnections: beyond it, new connections are closed at once and counted. */
  maxConnections: number;
  /** idleTimeoutMs: a connection with no byte moved either way for this long is closed; 0 never. */
  idleTimeoutMs: number;
  /** maxPending: output a slow reader may leave unsent before the server stops reading from it. */
  maxPending: number;
  /** maxPerAddress: open connections one address (an IPv4 address, an IPv6 /64) may hold; 0: no cap. */
  maxPerAddress: number;
  /** maxLifetimeMs: a connection open this long is closed, however it trickles; 0: never. */
  maxLifetimeMs: number;
  /**
   * maxOutput: queued output across all connections; within one read (READ_MAX) of it, every connection stops being
   * read, and new ones start paused, until it drains to half.
   */
  maxOutput: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxConnections: 10_000,
  idleTimeoutMs: 300_000,
  maxPending: 1 << 20,
  // 10 000 slots, 100 an address: an attacker needs a hundred addresses to fill them.
  maxPerAddress: 100,
  // An hour is longer than any request this server answers takes; a trickler gives its slot back.
  maxLifetimeMs: 3_600_000,
  // 64 connections' worth of --max-pending: the most a flood of slow readers can make us hold.
  maxOutput: 64 << 20,
};

// The UDP reply budget's defaults are the gate's; commands read them here with the other bounds' defaults.
export { DEFAULT_UDP_EXCESS, DEFAULT_UDP_RATE, DEFAULT_UDP_REPLY_RATE } from "./gate.ts";

/** CloseReason says why a connection ended. */
export type CloseReason = "done" | "reset" | "idle" | "lifetime" | "shutdown";

/** LimitName is a limit that closed or refused a connection, as `--log json` names it. */
export type LimitName = "max-connections" | "max-per-address" | "idle-timeout" | "max-lifetime";

/** ServerEvent is one thing worth a log line: a connection's open or close, or a limit hit. */
export type ServerEvent =
  | { event: "open"; transport: Transport; peer: string; port: number }
  | {
      event: "close";
      transport: Transport;
      peer: string;
      port: number;
      bytes_in: number;
      bytes_out: number;
      duration_ms: number;
      reason: CloseReason;
    }
  | { event: "limit"; transport: Transport; limit: LimitName; peer: string; port: number };

/** Counters are what a server has seen and refused: counted, not logged one line each. */
export interface Counters {
  /** connections: TCP connections accepted and served, in all. */
  connections: number;
  /** open: TCP connections open now. */
  open: number;
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** denied: peers outside --allow. */
  denied: number;
  /** rateLimited: UDP replies larger than their request, over a source prefix's --udp-rate. */
  rateLimited: number;
  /** replyLimited: UDP replies over a source prefix's --udp-reply-rate. */
  replyLimited: number;
  /** excessLimited: UDP replies larger than their request, over the server's --udp-excess. */
  excessLimited: number;
  /** reflected: datagrams from a service port, a port we serve, a broadcast or a multicast source, never answered. */
  reflected: number;
  /** sendFailed: UDP replies the kernel would not take (no room, the peer gone), dropped. */
  sendFailed: number;
  /** overLimit: connections closed at once because --max-connections were open. */
  overLimit: number;
  /** perAddress: connections closed at once because their address had --max-per-address open. */
  perAddress: number;
  /** idleClosed: connections closed by --idle-timeout. */
  idleClosed: number;
  /** lifetimeClosed: connections closed by --max-lifetime. */
  lifetimeClosed: number;
  /** outputPaused: connections paused each time queued output came within one read of --max-output. */
  outputPaused: number;
  /** shed: UDP datagrams read and dropped unanswered while a flood held the event loop (udp-batch/drainer.ts). */
  shed: number;
}

/** Listener is a bound server: where it listens, what it has seen, and how to stop it. */
export interface Listener {
  readonly transport: Transport;
  readonly host: string;
  readonly port: number;
  readonly counters: Counters;
  /** close stops taking new peers; connections in progress go on (graceful shutdown). */
  close(): void;
  /** stop closes the socket and, for TCP, every open connection, at once. */
  stop(): void;
}

export function newCounters(): Counters {
  return {
    connections: 0,
    open: 0,
    datagramsIn: 0,
    datagramsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    denied: 0,
    rateLimited: 0,
    replyLimited: 0,
    excessLimited: 0,
    reflected: 0,
    sendFailed: 0,
    overLimit: 0,
    perAddress: 0,
    idleClosed: 0,
    lifetimeClosed: 0,
    outputPaused: 0,
    shed: 0,
  };
}

/**
 * bindOrExplain runs a bind and turns its failure into an error that says what to do. On a machine
 * without IPv6, binding every interface fails, and every IPv4 interface is the fallback (ipv4Fallback).
 */
export async function bindOrExplain<T>(
  transport: Transport,
  opts: ListenOptions,
  bind: (host: string) => Promise<T> | T,
): Promise<T> {
  // A name is looked up first, through the resolver every client uses: Bun's own bind reports a name
  // it cannot resolve as ENOENT or ESRCH, which say nothing of a host. An address comes back as it is.
  const [host] = await resolveHost(opts.host, transport, "give an address of this machine, or :: for all");
  try {
    return await bind(host!);
  } catch (err) {
    const code = errnoCode(err);
    const fallback = ipv4Fallback(opts.host, code);
    if (fallback !== undefined) return bindOrExplain(transport, { ...opts, host: fallback }, bind);
    throw NetError.from("bind", transport, hostPort(opts.host, opts.port), err, bindHint(code, opts.port));
  }
}

function bindHint(code: string | undefined, port: number): string | undefined {
  if (code === "EADDRINUSE") return "is another server running? try --port";
  if ((code === "EACCES" || code === "EPERM") && port < 1024) {
    return "ports below 1024 need root or CAP_NET_BIND_SERVICE; try --port above 1023";
  }
  if (code === "EADDRNOTAVAIL") return "that address is not on this machine; try --host ::";
  return undefined;
}
