// Datagrams in flight, in order: each of `window` requests goes out on a socket of its own, so a
// reply belongs to the request on its socket; each is retried on its own; replies come back in the
// order of the requests. The UDP side of a piped `send`.
//
// A reply has no id in the textbook's protocol, so one that comes twice must not be read as the next request's: the
// requests take turns on more sockets than the window (sparesFor), oldest freed first, what waits on one is dropped
// before a new request goes out on it, and one whose request was sent more than once rests for a timeout first.
import { hostPort, resolveHost } from "./address.ts";
import { dialPacket, type PacketConn } from "./packet-conn.ts";
import type { Target } from "./target.ts";
import { checkDatagram } from "./transport.ts";
import { udpEngine } from "./udp-batch/engine.ts";
import { udpWindowLibc, windowLibc } from "./udp-window-libc.ts";
import { noReply, ReplyOrder, sparesFor, type UdpWindowOptions } from "./udp-window-order.ts";

/**
 * udpWindow sends every request of `requests` and hands the replies over in order; it throws at the first request that
 * gets no reply. On 64-bit Linux it goes through libc (udp-window-libc.ts) unless UPCAT_UDP_ENGINE=bun.
 */
export async function udpWindow(
  target: Target,
  requests: AsyncIterable<Uint8Array>,
  opts: UdpWindowOptions,
): Promise<void> {
  const [address] = await resolveHost(target.host, "udp");
  const libc = udpEngine() === "batch" ? windowLibc() : null;
  if (libc) return udpWindowLibc(libc, address!, target.port, requests, opts);
  const input = requests[Symbol.asyncIterator]();
  const order = new ReplyOrder(opts.onReply);
  let failed: unknown;
  let progress = Promise.withResolvers<void>();
  /** exchange sends payload on conn until a reply comes; it returns the reply and how many times it was sent. */
  const exchange = async (conn: PacketConn, payload: Uint8Array): Promise<[Uint8Array, number]> => {
    checkDatagram(payload.length);
    conn.dropWaiting();
    for (let attempt = 0; attempt <= opts.retries; attempt++) {
      conn.send(payload);
      const reply = await conn.receive(opts.timeoutMs);
      if (reply) return [reply, attempt + 1];
    }
    throw noReply(hostPort(address!, target.port), opts);
  };
  const moved = () => {
    progress.resolve();
    progress = Promise.withResolvers<void>();
  };
  // The sockets not carrying a request, oldest freed first; each of the window's slots takes one a request.
  const free: PacketConn[] = [];
  const spares = sparesFor(opts.window);
  // A freed socket joins the free ones after the event loop's turn: Bun hands over a wake-up's datagrams one socket
  // after another, and a second copy waiting on this one is read only then (and dropped at its next request).
  let cooling: PacketConn[] = [];
  const cool = (conn: PacketConn) => {
    if (cooling.push(conn) > 1) return;
    setImmediate(() => {
      free.push(...cooling);
      cooling = [];
      moved();
    });
  };
  const all: PacketConn[] = [];
  const slot = async () => {
    try {
      while (failed === undefined) {
        while (order.full && failed === undefined) await progress.promise;
        const next = await input.next();
        if (next.done || failed !== undefined) return;
        const index = order.take();
        // No socket free but the spares a freed one waits behind: wait for one.
        while (free.length <= spares && failed === undefined) await progress.promise;
        if (failed !== undefined) return;
        const conn = free.shift()!;
        const [reply, sent] = await exchange(conn, next.value);
        // Sent more than once: the replies to the other tries may still come, for a timeout.
        if (sent > 1) setTimeout(() => cool(conn), opts.timeoutMs).unref();
        else cool(conn);
        order.put(index, reply);
        moved();
      }
    } catch (err) {
      failed ??= err;
      progress.resolve();
    }
  };
  try {
    for (let k = 0; k < opts.window + spares; k++) all.push(await dialPacket(address!, target.port));
    free.push(...all);
    await Promise.all(Array.from({ length: opts.window }, slot));
  } finally {
    for (const conn of all) conn.close();
  }
  if (failed !== undefined) throw failed;
}
