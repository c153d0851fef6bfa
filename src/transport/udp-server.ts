// The datagram adapter, server side: any Protocol's datagram side as a UDP server.
import type { Protocol } from "../protocol/protocol.ts";
import { plainAddress } from "./address.ts";
import { bindOrExplain, DEFAULT_UDP_RATE, newCounters, type Listener, type ListenOptions } from "./listener.ts";
import { RateLimiter } from "./rate-limit.ts";
import { isUnanswerable } from "./reflection.ts";

/** BATCH is how many replies a server sends in one sendMany at most. */
const BATCH = 64;

/**
 * serveUdp answers each datagram with what the protocol returns, sent back to its source, unless the
 * source is not allowed, is a reflection attempt, or has had its share of replies larger than requests.
 */
export async function serveUdp(protocol: Protocol, opts: ListenOptions): Promise<Listener> {
  const counters = newCounters();
  const limiter = new RateLimiter(opts.udpRate ?? DEFAULT_UDP_RATE);
  /** outbox holds replies not yet sent, as sendMany takes them: data, port, address, data, port, address, ... */
  let outbox: (Uint8Array | number | string)[] = [];
  const sendBatch = (sock: { sendMany(packets: readonly (Uint8Array | number | string)[]): number; send(data: Uint8Array, port: number, address: string): boolean }) => {
    const batch = outbox;
    if (batch.length === 0) return;
    outbox = [];
    let sent = 0;
    try {
      sent = sock.sendMany(batch);
    } catch {
      // One reply the kernel refuses (too big, a client gone) must not cost the others: send them one by one.
      for (let i = 0; i < batch.length; i += 3) {
        try {
          if (sock.send(batch[i] as Uint8Array, batch[i + 1] as number, batch[i + 2] as string)) count(batch[i] as Uint8Array);
        } catch {}
      }
      return;
    }
    // A reply the kernel had no room for is dropped, as a lost datagram is; the server goes on.
    for (let i = 0; i < sent * 3; i += 3) count(batch[i] as Uint8Array);
  };
  const count = (reply: Uint8Array) => {
    counters.datagramsOut++;
    counters.bytesOut += reply.length;
  };
  const socket = await bindOrExplain("udp", opts, (hostname) =>
    Bun.udpSocket({
      hostname,
      port: opts.port,
      socket: {
        data(sock, message, port, address) {
          counters.datagramsIn++;
          counters.bytesIn += message.length;
          const peer = plainAddress(address);
          if (opts.allow && !opts.allow.allows(peer)) return void counters.denied++;
          if (isUnanswerable(peer, port)) return void counters.reflected++;
          const reply = protocol.datagram(message, { transport: "udp", address: peer, port });
          if (reply === undefined) return;
          // A reply no bigger than its request gives an attacker nothing; a bigger one is rationed per source.
          if (reply.length > message.length && !limiter.take(peer)) return void counters.rateLimited++;
          // Replies go out in batches (one sendmmsg for all the datagrams of one wake-up), not one send each.
          // A reply that is the request (echo) is copied: that memory is not ours after we return.
          // (Comparing .buffer instead would cost about a tenth of the server's rate: JSC makes an
          // ArrayBuffer object for each typed array asked for one.)
          // new Uint8Array, not slice(): on the Buffer Bun hands over, slice() is a view of the same memory.
          outbox.push(reply === message ? new Uint8Array(reply) : reply, port, address);
          if (outbox.length >= BATCH * 3) sendBatch(sock);
          else if (outbox.length === 3) setImmediate(sendBatch, sock);
        },
        // ICMP errors from clients that have gone arrive here; they concern one client, not the server.
        error() {},
      },
    }),
  );
  return {
    transport: "udp",
    host: socket.hostname,
    port: socket.port,
    counters,
    // A datagram server has nothing in progress: closing and stopping are the same.
    close: () => socket.close(),
    stop: () => socket.close(),
  };
}
