// What a running relay is to its caller, whichever transport it carries: options in, a Listener with tallies out.
import type { Relay, RelayOptions } from "./types.ts";
import { relayTcp } from "./tcp-relay.ts";
import { relayUdp } from "./udp-relay.ts";

export * from "./types.ts";

/** startRelay binds LISTEN and forwards each client to the target, applying the faults. */
export function startRelay(opts: RelayOptions): Promise<Relay> {
  return opts.transport === "udp" ? relayUdp(opts) : relayTcp(opts);
}
