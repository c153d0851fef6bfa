// Datagrams in flight, in order: each request goes out on a socket of its own among `window`, so a
// reply belongs to the request on its socket; each is retried on its own; replies come back in the
// order of the requests. The UDP side of a piped `send`.
import { NetError } from "../errors.ts";
import { hostPort, resolveHost } from "./address.ts";
import { dialPacket, type PacketConn } from "./packet-conn.ts";
import type { Target } from "./target.ts";
import { checkDatagram } from "./transport.ts";
import { udpEngine } from "./udp-batch/engine.ts";
import { udpWindowLibc, windowLibc } from "./udp-window-libc.ts";
import type { UdpWindowOptions } from "./udp-window-options.ts";

/** AHEAD bounds the replies held for printing behind one slow request, so memory stays bounded. */
const AHEAD = 4096;

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
  const replies = new Map<number, Uint8Array>();
  let taken = 0;
  let printed = 0;
  let failed: unknown;
  let progress = Promise.withResolvers<void>();
  const flush = () => {
    for (let reply = replies.get(printed); reply !== undefined; reply = replies.get(printed)) {
      replies.delete(printed++);
      opts.onReply(reply);
    }
    progress.resolve();
    progress = Promise.withResolvers<void>();
  };
  const exchange = async (conn: PacketConn, payload: Uint8Array): Promise<Uint8Array> => {
    checkDatagram(payload.length);
    for (let attempt = 0; attempt <= opts.retries; attempt++) {
      conn.send(payload);
      const reply = await conn.receive(opts.timeoutMs);
      if (reply) return reply;
    }
    const tries = opts.retries === 0 ? "1 try" : `${opts.retries + 1} tries`;
    throw new NetError({
      op: "read",
      transport: "udp",
      address: hostPort(address!, target.port),
      reason: `no reply after ${tries} of ${opts.timeoutMs}ms`,
      code: "ETIMEDOUT",
    });
  };
  const slot = async () => {
    const conn = await dialPacket(address!, target.port);
    try {
      while (failed === undefined) {
        while (taken - printed >= AHEAD && failed === undefined) await progress.promise;
        const next = await input.next();
        if (next.done || failed !== undefined) return;
        const index = taken++;
        replies.set(index, await exchange(conn, next.value));
        flush();
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
