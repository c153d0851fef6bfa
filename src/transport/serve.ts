// Starts one protocol on several transports at once, on one port number where it can.
import { errnoCode } from "../errors.ts";
import type { Protocol } from "../protocol/protocol.ts";
import type { Listener, ListenOptions } from "./listener.ts";
import type { Transport } from "./target.ts";
import { serveTcp } from "./tcp.ts";
import { serveUdp } from "./udp.ts";

const ADAPTERS: Record<Transport, (protocol: Protocol, opts: ListenOptions) => Promise<Listener>> = {
  udp: serveUdp,
  tcp: serveTcp,
};

/**
 * serveProtocol binds every transport asked for, or none: if one bind fails, the ones already
 * bound are stopped and the error goes up. With port 0, later transports try the port the first got.
 */
export async function serveProtocol(protocol: Protocol, transports: readonly Transport[], opts: ListenOptions): Promise<Listener[]> {
  const listeners: Listener[] = [];
  try {
    for (const transport of transports) {
      const first = listeners[0];
      if (opts.port === 0 && first) {
        try {
          listeners.push(await ADAPTERS[transport](protocol, { ...opts, port: first.port }));
          continue;
        } catch (err) {
          if (errnoCode(err) !== "EADDRINUSE") throw err;
        }
      }
      listeners.push(await ADAPTERS[transport](protocol, opts));
    }
  } catch (err) {
    for (const listener of listeners) listener.stop();
    throw err;
  }
  return listeners;
}
