// What the connections (TCP) or sessions (UDP) of one relay share, whichever the transport, and serve's bounds on who
// may open one.
import { hostPort } from "../transport/address.ts";
import {
  type Counters,
  DEFAULT_LIMITS,
  DEFAULT_UDP_REPLY_RATE,
  type Limits,
  newCounters,
} from "../transport/listener.ts";
import { OutputBudget } from "../transport/output-budget.ts";
import { AddressSlots } from "../transport/address-slots.ts";
import { ByteBudget, SourceLimiter } from "../transport/rate-limit.ts";
import type { Transport } from "../transport/transport.ts";
import { describeFaults, type Faults, noFaults } from "./faults.ts";
import { newRelayCounts, type RelayCounts, type RelayOptions } from "./relay.ts";

export interface RelayShared {
  readonly opts: RelayOptions;
  readonly limits: Limits;
  readonly faults: Faults;
  readonly faultNames: string[];
  readonly counters: Counters;
  readonly relay: RelayCounts;
  readonly output: OutputBudget;
  readonly target: string;
  /** slots count the open connections or sessions of each client address, against --max-per-address. */
  readonly slots: AddressSlots;
  /**
   * sources are serve's per-prefix buckets, spent by each datagram sent back to a client (--udp-reply-rate), and by
   * one larger than the client's last datagram (--udp-rate).
   */
  readonly sources: SourceLimiter;
  /** excess is serve's process-wide budget of the bytes by which datagrams sent back outgrow their client's own. */
  readonly excess: ByteBudget;
  /** opened numbers the connections or sessions, for each one's random source. */
  opened: number;
}

/** relayShared is a relay's shared state, from its options and the defaults. */
export function relayShared(opts: RelayOptions): RelayShared {
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const faults = opts.faults ?? noFaults();
  return {
    opts,
    limits,
    faults,
    faultNames: describeFaults(faults),
    counters: newCounters(),
    relay: newRelayCounts(),
    output: opts.output ?? new OutputBudget(limits.maxOutput),
    target: hostPort(opts.target.host, opts.target.port),
    slots: new AddressSlots(),
    // A target that answers a small datagram with a large one (qotd, chargen) must not make the relay an amplifier.
    // Not given, the buckets are bottomless (Infinity stays Infinity through their arithmetic).
    sources: new SourceLimiter(opts.udpReplyRate ?? DEFAULT_UDP_REPLY_RATE, opts.udpRate ?? Infinity),
    excess: new ByteBudget(opts.udpExcess ?? Infinity),
    opened: 0,
  };
}

/**
 * admit takes a slot for a new client, as serve does: none past --max-connections open in all (`open`) or
 * --max-per-address open from its address, each refusal counted and reported. It returns the address's key, to give
 * back to `slots` at the close, or undefined when refused.
 */
export function admit(
  shared: RelayShared,
  transport: Transport,
  open: number,
  peer: string,
  port: number,
): string | undefined {
  const { limits, counters, slots, opts } = shared;
  if (open >= limits.maxConnections) {
    counters.overLimit++;
    opts.onEvent?.({ event: "limit", transport, limit: "max-connections", peer, port });
    return undefined;
  }
  const key = slots.take(peer, limits.maxPerAddress);
  if (key === undefined) {
    counters.perAddress++;
    opts.onEvent?.({ event: "limit", transport, limit: "max-per-address", peer, port });
  }
  return key;
}
