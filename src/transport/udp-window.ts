// Datagrams in flight, in order: each request goes out on a socket of its own among `window`, so a
// reply belongs to the request on its socket; each is retried on its own; replies come back in the
// order of the requests. The UDP side of a piped `send`.
import { hostPort, resolveHost } from "./address.ts";
import { dialPacket, type PacketConn } from "./packet-conn.ts";
import type { Target } from "./target.ts";
import { checkDatagram } from "./transport.ts";
import { udpEngine } from "./udp-batch/engine.ts";
import { udpWindowLibc, windowLibc } from "./udp-window-libc.ts";
import { noReply, ReplyOrder, type UdpWindowOptions } from "./udp-window-order.ts";

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
  const exchange = async (conn: PacketConn, payload: Uint8Array): Promise<Uint8Array> => {
    checkDatagram(payload.length);
    for (let attempt = 0; attempt <= opts.retries; attempt++) {
      conn.send(payload);
      const reply = await conn.receive(opts.timeoutMs);
      if (reply) return reply;
    }
    throw noReply(hostPort(address!, target.port), opts);
  };
  const slot = async () => {
    const conn = await dialPacket(address!, target.port);
    try {
      while (failed === undefined) {
        while (order.full && failed === undefined) await progress.promise;
        const next = await input.next();
        if (next.done || failed !== undefined) return;
        const index = order.take();
        order.put(index, await exchange(conn, next.value));
        progress.resolve();
        progress = Promise.withResolvers<void>();
      }
    } catch (err) {
      failed ??= err;
      progress.resolve();
    } finally {
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: opts.window }, slot));
  if (failed !== undefined) throw failed;
}
