// What a running server looks like to its caller, whichever transport carries it.
import { errnoCode, NetError } from "../errors.ts";
import { hostPort } from "./address.ts";
import type { AllowList } from "./allow-list.ts";
import type { Transport } from "./transport.ts";

export interface ListenOptions {
  /** host is the address to bind: "::" for every interface on both IPv6 and IPv4. */
  host: string;
  /** port to bind; 0 picks any free port. */
  port: number;
  /** allow, when set, is who may be served; others get nothing (UDP) or an immediate close (TCP). */
  allow?: AllowList;
  /** udpRate is how many UDP replies larger than their request one source address may get a second. */
  udpRate?: number;
  /** limits bound what TCP peers may hold; DEFAULT_LIMITS where not given. */
  limits?: Partial<Limits>;
  /** onEvent, when set, hears of each connection and each limit hit (for `--log json`). */
  onEvent?(event: ServerEvent): void;
}

/** Limits are the server's bounds on what a TCP peer may hold. */
export interface Limits {
  /** maxConnections: beyond it, new connections are closed at once and counted. */
  maxConnections: number;
  /** idleTimeoutMs: a connection with no byte moved either way for this long is closed; 0 never. */
  idleTimeoutMs: number;
  /** maxPending: output a slow reader may leave unsent before the server stops reading from it. */
  maxPending: number;
}

export const DEFAULT_LIMITS: Limits = { maxConnections: 10_000, idleTimeoutMs: 300_000, maxPending: 1 << 20 };

/** DEFAULT_UDP_RATE keeps an amplifying reply (chargen, qotd, daytime, time) useless for a flood. */
export const DEFAULT_UDP_RATE = 10;

/** CloseReason says why a connection ended. */
export type CloseReason = "done" | "reset" | "idle" | "shutdown";

/** ServerEvent is one thing worth a log line: a connection's open or close, or a limit hit. */
export type ServerEvent =
  | { event: "open"; transport: Transport; peer: string; port: number }
  | { event: "close"; transport: Transport; peer: string; port: number; bytes_in: number; bytes_out: number; duration_ms: number; reason: CloseReason }
  | { event: "limit"; transport: Transport; limit: "max-connections" | "idle-timeout"; peer: string; port: number };

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
  /** rateLimited: UDP replies larger than their request, over a source's --udp-rate. */
  rateLimited: number;
  /** reflected: datagrams from a service port, a broadcast or a multicast source, never answered. */
  reflected: number;
  /** overLimit: connections closed at once because --max-connections were open. */
  overLimit: number;
  /** idleClosed: connections closed by --idle-timeout. */
  idleClosed: number;
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
  return { connections: 0, open: 0, datagramsIn: 0, datagramsOut: 0, bytesIn: 0, bytesOut: 0, denied: 0, rateLimited: 0, reflected: 0, overLimit: 0, idleClosed: 0 };
}

/** ALL_INTERFACES binds both IPv6 and IPv4 (Linux sockets are dual-stack unless told otherwise). */
export const ALL_INTERFACES = "::";

/**
 * bindOrExplain runs a bind and turns its failure into an error that says what to do. On a machine
 * without IPv6, binding "::" fails, and "0.0.0.0" (the textbook's '') is the fallback.
 */
export async function bindOrExplain<T>(transport: Transport, opts: ListenOptions, bind: (host: string) => Promise<T> | T): Promise<T> {
  try {
    return await bind(opts.host);
  } catch (err) {
    const code = errnoCode(err);
    if (opts.host === ALL_INTERFACES && (code === "EAFNOSUPPORT" || code === "EADDRNOTAVAIL")) {
      return bindOrExplain(transport, { ...opts, host: "0.0.0.0" }, bind);
    }
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
