// Starts one protocol on several transports at once, on one port number.
import { errnoCode } from "../errors.ts";
import type { Protocol } from "../protocol/protocol.ts";
import type { Listener, ListenOptions } from "./listener.ts";
import type { Transport } from "./transport.ts";
import { serveTcp } from "./tcp-server.ts";
import { serveUdp } from "./udp-server.ts";

const ADAPTERS: Record<Transport, (protocol: Protocol, opts: ListenOptions) => Promise<Listener>> = {
  udp: serveUdp,
  tcp: serveTcp,
};

// An ephemeral UDP port is often taken on TCP by some client's outgoing connection; a fresh pick
// almost always fits, and one port for both is what the ready line and every client assume.
const SAME_PORT_TRIES = 64;

/**
 * serveProtocol binds every transport asked for, or none: if one bind fails, the ones already
 * bound are stopped and the error goes up. With port 0, every transport gets the same port number.
 */
export async function serveProtocol(
  protocol: Protocol,
  transports: readonly Transport[],
  opts: ListenOptions,
): Promise<Listener[]> {
  if (opts.port !== 0 || transports.length < 2) return bindAll(protocol, transports, opts, () => opts.port);
  for (let attempt = 1; ; attempt++) {
    try {
      return await bindAll(protocol, transports, opts, (first) => first?.port ?? 0);
    } catch (err) {
      if (errnoCode(err) !== "EADDRINUSE" || attempt === SAME_PORT_TRIES) throw err;
    }
  }
}

async function bindAll(
  protocol: Protocol,
  transports: readonly Transport[],
  opts: ListenOptions,
  portFor: (first: Listener | undefined) => number,
): Promise<Listener[]> {
  const listeners: Listener[] = [];
  try {
    for (const transport of transports) {
      listeners.push(await ADAPTERS[transport](protocol, { ...opts, port: portFor(listeners[0]) }));
    }
  } catch (err) {
    for (const listener of listeners) listener.stop();
    throw err;
  }
  return listeners;
}
