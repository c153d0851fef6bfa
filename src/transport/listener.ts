// What a running server looks like to its caller, whichever transport carries it.
import { errnoCode, NetError } from "../errors.ts";
import { hostPort } from "./address.ts";
import type { AllowList } from "./allow-list.ts";
import type { Transport } from "./target.ts";

export interface ListenOptions {
  /** host is the address to bind: "::" for every interface on both IPv6 and IPv4. */
  host: string;
  /** port to bind; 0 picks any free port. */
  port: number;
  /** allow, when set, is who may be served; others get nothing (UDP) or an immediate close (TCP). */
  allow?: AllowList;
  /** udpRate is how many UDP replies larger than their request one source address may get a second. */
  udpRate?: number;
}

/** DEFAULT_UDP_RATE keeps an amplifying reply (chargen, qotd, daytime, time) useless for a flood. */
export const DEFAULT_UDP_RATE = 10;

/** Counters are what a server refused, counted rather than logged one line each. */
export interface Counters {
  /** denied: peers outside --allow. */
  denied: number;
  /** rateLimited: UDP replies larger than their request, over a source's --udp-rate. */
  rateLimited: number;
  /** reflected: datagrams from a service port, a broadcast or a multicast source, never answered. */
  reflected: number;
}

/** Listener is a bound server: where it listens, what it has seen, and how to stop it. */
export interface Listener {
  readonly transport: Transport;
  readonly host: string;
  readonly port: number;
  readonly counters: Counters;
  /** stop closes the socket and, for TCP, every open connection. */
  stop(): void;
}

export function newCounters(): Counters {
  return { denied: 0, rateLimited: 0, reflected: 0 };
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
