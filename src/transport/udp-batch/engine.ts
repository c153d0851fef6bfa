// Which engine a UDP server's socket is read through, and the batch engine put on a socket Bun has bound.
import type { Counters, Listener } from "../listener.ts";
import { batchLibc } from "./libc.ts";
import { batchDrainer, type Drainer, type OnDatagram } from "./drainer.ts";
import { udpSocketFd } from "./socket-fd.ts";

/**
 * udpEngine is the UDP engine: "batch" (the default) reads and answers what waits after each of Bun's wake-ups a
 * batch at a time through libc, where libc can be had (64-bit Linux; elsewhere Bun's socket alone);
 * UPCAT_UDP_ENGINE=bun keeps to Bun's socket alone. Read at each bind, so that tests can run both in one process.
 */
export const udpEngine = (): "batch" | "bun" => (process.env.UPCAT_UDP_ENGINE === "bun" ? "bun" : "batch");

/** drainers are the batch engines of the servers that have one. */
const drainers = new WeakMap<Listener, Drainer>();

/**
 * batchEngine puts the batch engine on the UDP socket a server's `listener` has bound on `port`, or returns
 * undefined where Bun's socket is to serve alone: UPCAT_UDP_ENGINE=bun, no libc, or the socket not to be found.
 */
export function batchEngine(
  listener: Listener,
  port: number,
  onDatagram: OnDatagram,
  counters: Counters,
  flush: () => void,
): Drainer | undefined {
  const libc = udpEngine() === "batch" ? batchLibc() : null;
  const fd = libc ? udpSocketFd(libc, port) : undefined;
  if (!libc || fd === undefined) return undefined;
  const drainer = batchDrainer(libc, fd, onDatagram, counters, flush);
  drainers.set(listener, drainer);
  return drainer;
}

/**
 * batchRead is how many datagrams the batch engine of a server has read itself, or undefined when Bun's
 * socket serves it alone: for tests, which must know the engine they meant is the one at work.
 */
export const batchRead = (listener: Listener): number | undefined => drainers.get(listener)?.read;
