// The one gate every server and relay asks: may this peer in (--allow, --max-connections, --max-per-address), and
// may this UDP reply go (source ports and addresses that mean reflection, --udp-reply-rate, --udp-rate, --udp-excess).
import { AddressSlots } from "./address-slots.ts";
import type { AllowList } from "./allow-list.ts";
import { ByteBudget, GO, OVER_REPLIES, SourceLimiter } from "./rate-limit.ts";
import { OutputBudget } from "./output-budget.ts";
import { isRefusedPort, isUnanswerableAddress } from "./reflection.ts";
import type { Transport } from "./transport.ts";

/** DEFAULT_UDP_RATE keeps an amplifying reply (chargen, qotd, daytime, time) useless for a flood. */
export const DEFAULT_UDP_RATE = 10;

/**
 * DEFAULT_UDP_REPLY_RATE bounds every reply to one source prefix (on loopback, to one address and port): plenty for
 * the clients of a small public server, and a loop through another server (which can only run as fast as replies
 * come) runs dry within a second of starting.
 */
export const DEFAULT_UDP_REPLY_RATE = 1000;

/**
 * DEFAULT_UDP_EXCESS: bytes a second by which replies may outgrow their requests, all sources together (about 130
 * quotes).
 */
export const DEFAULT_UDP_EXCESS = 64 << 10;

/** BudgetOptions are the bounds a gate enforces, as the command line gave them; the UDP ones default to serve's. */
export interface BudgetOptions {
  allow?: AllowList;
  /** limits are the server's, defaults applied: only the two that admission reads, and --max-output, matter here. */
  limits: { readonly maxConnections: number; readonly maxPerAddress: number; readonly maxOutput: number };
  udpReplyRate?: number;
  udpRate?: number;
  udpExcess?: number;
}

/**
 * Budgets are what every gate, server and relay of one process shares: built once (newBudgets), so that serving more
 * protocols, or both transports, does not multiply what a peer may take, nor what the process holds for them.
 */
export interface Budgets {
  readonly allow: AllowList | undefined;
  readonly maxConnections: number;
  readonly maxPerAddress: number;
  /** slots count the open connections (or relay sessions) of each client address. */
  readonly slots: AddressSlots;
  /** sources are the per-prefix reply buckets (--udp-reply-rate, --udp-rate). */
  readonly sources: SourceLimiter;
  /** flows are loopback's reply buckets (--udp-reply-rate), one an address and port: see Gate.mayReply. */
  readonly flows: SourceLimiter;
  /** excess is the process-wide budget of bytes by which replies outgrow their requests (--udp-excess). */
  readonly excess: ByteBudget;
  /** output is the queued-output total of every TCP connection and relay direction (--max-output). */
  readonly output: OutputBudget;
}

/** newBudgets builds a process's budgets: the one place they are made. */
export function newBudgets(o: BudgetOptions): Budgets {
  return {
    allow: o.allow,
    maxConnections: o.limits.maxConnections,
    maxPerAddress: o.limits.maxPerAddress,
    slots: new AddressSlots(),
    sources: new SourceLimiter(o.udpReplyRate ?? DEFAULT_UDP_REPLY_RATE, o.udpRate ?? DEFAULT_UDP_RATE),
    flows: new SourceLimiter(o.udpReplyRate ?? DEFAULT_UDP_REPLY_RATE, 0),
    excess: new ByteBudget(o.udpExcess ?? DEFAULT_UDP_EXCESS),
    output: new OutputBudget(o.limits.maxOutput),
  };
}

/** GateCounts are the counters a gate's refusals are counted in: those of the server or relay that asks. */
export interface GateCounts {
  denied: number;
  overLimit: number;
  perAddress: number;
  reflected: number;
  replyLimited: number;
  rateLimited: number;
  excessLimited: number;
}

/** LimitEvent is the log's word for a peer turned away by a limit (one outside --allow is only counted). */
export interface LimitEvent {
  event: "limit";
  transport: Transport;
  limit: "max-connections" | "max-per-address";
  peer: string;
  port: number;
}

/**
 * Gate is one server's or relay's view of its process's budgets: each refusal is counted in its own counters and
 * told to its own log. Its per-datagram questions (answers, mayReply) allocate nothing.
 */
export class Gate {
  private readonly allow: AllowList | undefined;
  private readonly maxConnections: number;
  private readonly maxPerAddress: number;
  private readonly slots: AddressSlots;
  private readonly sources: SourceLimiter;
  private readonly flows: SourceLimiter;
  private readonly excess: ByteBudget;

  constructor(
    budgets: Budgets,
    private readonly transport: Transport,
    private readonly counters: GateCounts,
    private readonly onEvent?: (event: LimitEvent) => void,
  ) {
    // Copied, not reached through budgets: one less load on every datagram.
    ({
      allow: this.allow,
      maxConnections: this.maxConnections,
      maxPerAddress: this.maxPerAddress,
      slots: this.slots,
      sources: this.sources,
      flows: this.flows,
      excess: this.excess,
    } = budgets);
  }

  /** allows says whether --allow lets this peer (a plain address) in; a refusal is counted as denied. */
  allows(peer: string): boolean {
    if (this.allow === undefined || this.allow.allows(peer)) return true;
    this.counters.denied++;
    return false;
  }

  /**
   * admit lets a new connection in: allowed, fewer than --max-connections `open`, and a slot free for its address.
   * It returns the slot's key, to give back with release at the close, or undefined when refused.
   */
  admit(peer: string, port: number, open: number): string | undefined {
    return this.allows(peer) ? this.hold(peer, port, open) : undefined;
  }

  /**
   * hold takes a slot for a peer already allowed (a UDP session's first datagram): none past --max-connections open
   * in all, or --max-per-address from its address, each refusal counted and told. It returns the key, or undefined.
   */
  hold(peer: string, port: number, open: number): string | undefined {
    if (open >= this.maxConnections) {
      this.counters.overLimit++;
      this.onEvent?.({ event: "limit", transport: this.transport, limit: "max-connections", peer, port });
      return undefined;
    }
    const key = this.slots.take(peer, this.maxPerAddress);
    if (key === undefined) {
      this.counters.perAddress++;
      this.onEvent?.({ event: "limit", transport: this.transport, limit: "max-per-address", peer, port });
    }
    return key;
  }

  /** release gives back the slot that admit or hold took. */
  release(key: string): void {
    this.slots.give(key);
  }

  /**
   * answers says whether a datagram from this source may be answered at all: allowed, and not a forged service-port,
   * broadcast or multicast source that would make us a reflector or one end of a loop (counted as reflected).
   * `unanswerableAddress`, when given, is isUnanswerableAddress(peer) worked out before (SourceKeys).
   */
  answers(peer: string, port: number, unanswerableAddress?: boolean): boolean {
    if (!this.allows(peer)) return false;
    if (!isRefusedPort(port) && !(unanswerableAddress ?? isUnanswerableAddress(peer))) return true;
    this.counters.reflected++;
    return false;
  }

  /**
   * mayReply spends what one reply of `replyBytes` to the source prefix costs, against a request of `requestBytes`,
   * and says whether it may go. Every reply spends the prefix's --udp-reply-rate, so a loop through another server
   * runs dry; one larger than its request also spends the prefix's --udp-rate and the process's --udp-excess, so
   * bytes out stay within bytes in plus that budget however many sources are forged.
   *
   * `flow` (loopbackFlow) is set for a source on this machine: its replies spend the --udp-reply-rate of its address
   * and port instead of its prefix's. A loop is two sockets answering each other, so it still runs dry within a
   * second, whatever the peer answers (an echo, a chargen, anything); local clients, all of them 127.0.0.1, no longer
   * share one bucket (a piped `send --udp` spreads its requests over 64 sockets). Larger replies still spend the
   * prefix's --udp-rate and --udp-excess: amplification is bounded as before.
   */
  mayReply(prefix: number | string, replyBytes: number, requestBytes: number, flow?: number): boolean {
    const larger = replyBytes > requestBytes;
    const now = performance.now();
    if (flow !== undefined && this.flows.take(flow, false, now) !== GO) {
      this.counters.replyLimited++;
      return false;
    }
    const verdict = this.sources.take(prefix, larger, now, flow === undefined);
    if (verdict !== GO) {
      if (verdict === OVER_REPLIES) this.counters.replyLimited++;
      else this.counters.rateLimited++;
      return false;
    }
    if (larger && !this.excess.take(replyBytes - requestBytes, now)) {
      this.counters.excessLimited++;
      return false;
    }
    return true;
  }
}
