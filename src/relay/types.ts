// What a relay is to its caller and its two transports share: its options, its events and its tallies.
import type { AllowList } from "../transport/allow-list.ts";
import type { Budgets } from "../transport/gate.ts";
import type { Limits, Listener, ServerEvent } from "../transport/listener.ts";
import type { Transport } from "../transport/transport.ts";
import type { Faults } from "./faults.ts";
import type { Tally } from "./stream-pipe.ts";

export type { Tally };

/** Endpoint is an address and port; a relay's target is an IP address (names are resolved before). */
export interface Endpoint {
  host: string;
  port: number;
}

export interface RelayOptions {
  transport: Transport;
  /** listen is where clients come: "::" for every interface; port 0 for any free port. */
  listen: Endpoint;
  /** target is where their traffic goes: an IP literal. */
  target: Endpoint;
  /** allow, when set, is who may use the relay; others get nothing (UDP) or an immediate close (TCP). */
  allow?: AllowList;
  /**
   * limits: maxConnections and maxPerAddress (TCP connections or UDP sessions, in all and per client address),
   * idleTimeoutMs, maxLifetimeMs, maxPending (a direction's held bytes), maxOutput (all held bytes).
   */
  limits?: Partial<Limits>;
  /**
   * udpReplyRate: datagrams sent back to one client prefix (/24, /56) a second, as serve's --udp-reply-rate; 0: no
   * limit. DEFAULT_UDP_REPLY_RATE when not given.
   */
  udpReplyRate?: number;
  /**
   * udpRate: datagrams sent back to one client prefix a second that are larger than the client's last datagram in
   * their session, as serve's --udp-rate (0: none); udpExcess: bytes a second by which those may outgrow it, all
   * clients together, as serve's --udp-excess (0: none). Not given: no bound, for a caller that relays to a target it
   * trusts (the tests' answers "re:" + the request); `upcat relay` always gives them, serve's defaults unless told.
   */
  udpRate?: number;
  udpExcess?: number;
  /**
   * budgets, when set, are the process's (newBudgets, from the command line), and allow, the two admission limits,
   * limits.maxOutput and the udp options above are not read; else the relay builds its own from those.
   */
  budgets?: Budgets;
  /**
   * connectTimeoutMs: a TCP target that has not accepted within this long counts as failed (ETIMEDOUT); 0: the kernel's
   * own (about two minutes).
   */
  connectTimeoutMs?: number;
  faults?: Faults;
  /** reusePort lets several processes bind LISTEN (SO_REUSEPORT, Linux): `relay --workers`. */
  reusePort?: boolean;
  /** onEvent hears of each connection or session and each limit hit (for `--log json`). */
  onEvent?(event: RelayEvent): void;
}

/**
 * RelayCloseReason says why a connection or session ended: done (closed both ways), reset (the client
 * reset it), target (the target refused, reset or vanished), fault (--reset-after), idle, lifetime
 * (--max-lifetime), shutdown.
 */
export type RelayCloseReason = "done" | "reset" | "target" | "fault" | "idle" | "lifetime" | "shutdown";

/** RelayClose is a connection's or session's last word: bytes both ways, what the faults did, and why it ended. */
export interface RelayClose {
  event: "close";
  transport: Transport;
  peer: string;
  port: number;
  target: string;
  /**
   * bytes_in came from the client, bytes_out went back to it; the _up/_down tallies are the relay's view of each
   * direction.
   */
  bytes_in: number;
  bytes_out: number;
  forwarded_up: number;
  forwarded_down: number;
  dropped_up: number;
  dropped_down: number;
  datagrams_in?: number;
  datagrams_out?: number;
  duration_ms: number;
  reason: RelayCloseReason;
  /** error is the errno code of a target failure or a reset (ECONNREFUSED, ECONNRESET). */
  error?: string;
  /** faults are those in force ("down delay 50ms"), and stalled those that have fired ("up stall-after"). */
  faults: string[];
  stalled?: string[];
}

export type RelayEvent = Exclude<ServerEvent, { event: "close" }> | RelayClose;

/** RelayCounts are the relay's own tallies beside the server's Counters. */
export interface RelayCounts {
  up: Tally;
  down: Tally;
  /** targetFailed: connections or sessions whose target refused, reset or vanished. */
  targetFailed: number;
  /** resets: connections reset by --reset-after; stalls: directions stopped by --stall-after. */
  resets: number;
  stalls: number;
  /** duplicated and reordered count datagrams (UDP): copies sent, and groups let go newest first. */
  duplicated: number;
  reordered: number;
  /** sessions: UDP sessions open now (also the Counters' `open`, for the stats line). */
  sessions: number;
}

/** Relay is a bound relay: a Listener (so drain and stats treat it as a server) with the relay's tallies. */
export interface Relay extends Listener {
  readonly relay: RelayCounts;
}

export function newRelayCounts(): RelayCounts {
  return {
    up: { received: 0, forwarded: 0, dropped: 0 },
    down: { received: 0, forwarded: 0, dropped: 0 },
    targetFailed: 0,
    resets: 0,
    stalls: 0,
    duplicated: 0,
    reordered: 0,
    sessions: 0,
  };
}

/** sumRelayCounts adds up the tallies of several relays (the workers of `relay --workers`): zeros for none. */
export function sumRelayCounts(all: readonly RelayCounts[]): RelayCounts {
  const total = newRelayCounts();
  for (const c of all) {
    for (const dir of ["up", "down"] as const)
      for (const key of Object.keys(total[dir]) as (keyof Tally)[]) total[dir][key] += c[dir][key];
    for (const key of ["targetFailed", "resets", "stalls", "duplicated", "reordered", "sessions"] as const)
      total[key] += c[key];
  }
  return total;
}
