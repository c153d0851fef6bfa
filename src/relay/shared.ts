// What the connections (TCP) or sessions (UDP) of one relay share, whichever the transport.
import { hostPort } from "../transport/address.ts";
import { type Counters, DEFAULT_LIMITS, type Limits, newCounters } from "../transport/listener.ts";
import { OutputBudget } from "../transport/output-budget.ts";
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
    opened: 0,
  };
}
