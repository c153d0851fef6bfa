// What the connections (TCP) or sessions (UDP) of one relay share, whichever the transport, and the gate that admits
// them.
import { hostPort } from "../transport/address.ts";
import { Gate, newBudgets } from "../transport/gate.ts";
import { type Counters, DEFAULT_LIMITS, type Limits, newCounters } from "../transport/listener.ts";
import type { OutputBudget } from "../transport/output-budget.ts";
import type { Transport } from "../transport/transport.ts";
import { describeFaults, type Faults, noFaults } from "./faults.ts";
import { newRelayCounts, type RelayCounts, type RelayOptions } from "./types.ts";

export interface RelayShared {
  readonly opts: RelayOptions;
  readonly limits: Limits;
  readonly faults: Faults;
  readonly faultNames: string[];
  readonly counters: Counters;
  readonly relay: RelayCounts;
  /** output is the held-bytes total (--max-output): the budgets', shared with the process's other relays. */
  readonly output: OutputBudget;
  readonly target: string;
  /**
   * gate admits each client as serve does (--allow, --max-connections, --max-per-address: connections or sessions),
   * and spends serve's reply budget on each datagram sent back to one (--udp-reply-rate, --udp-rate, --udp-excess).
   */
  readonly gate: Gate;
  /** opened numbers the connections or sessions, for each one's random source. */
  opened: number;
}

/** relayShared is a relay's shared state, from its options and the defaults. */
export function relayShared(opts: RelayOptions, transport: Transport): RelayShared {
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const faults = opts.faults ?? noFaults();
  const counters = newCounters();
  // A target that answers a small datagram with a large one (qotd, chargen) must not make the relay an amplifier.
  // Not given, the buckets are bottomless (Infinity stays Infinity through their arithmetic).
  const budgets =
    opts.budgets ??
    newBudgets({ ...opts, limits, udpRate: opts.udpRate ?? Infinity, udpExcess: opts.udpExcess ?? Infinity });
  return {
    opts,
    limits,
    faults,
    faultNames: describeFaults(faults),
    counters,
    relay: newRelayCounts(),
    output: budgets.output,
    target: hostPort(opts.target.host, opts.target.port),
    gate: new Gate(budgets, transport, counters, opts.onEvent),
    opened: 0,
  };
}
