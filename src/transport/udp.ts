// The datagram adapter: any Protocol's datagram side as a UDP server, and a request/reply client.
import { errnoCode, NetError, UsageError } from "../errors.ts";
import type { Protocol } from "../protocol/protocol.ts";
import { hostPort, plainAddress, resolveHost } from "./address.ts";
import { bindOrExplain, DEFAULT_UDP_RATE, newCounters, type Listener, type ListenOptions } from "./listener.ts";
import { RateLimiter } from "./rate-limit.ts";
import { isUnanswerable } from "./reflection.ts";
import type { Target } from "./target.ts";

/** MAX_DATAGRAM is the largest UDP payload over IPv4 (65535 less the IP and UDP headers). */
export const MAX_DATAGRAM = 65507;

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

export interface UdpRequestOptions {
  /** timeoutMs is how long to wait for a reply to each try. */
  timeoutMs: number;
  /** retries is how many times to send again after a try times out. */
  retries: number;
  /** expectReply: false for a server that never answers (discard): the send is the whole exchange. */
  expectReply?: boolean;
}

/** Reply is what a client got back, and how long it took from the last send. */
export interface Reply {
  readonly bytes: Uint8Array;
  readonly rttMs: number;
  readonly address: string;
  readonly attempts: number;
}

/** udpRequest sends one datagram and waits for one reply, sending again after each timeout, as a DNS stub resolver does. */
export async function udpRequest(target: Target, payload: Uint8Array, opts: UdpRequestOptions): Promise<Reply> {
  if (payload.length > MAX_DATAGRAM) {
    throw new UsageError(`message is ${payload.length} bytes; a UDP datagram carries at most ${MAX_DATAGRAM} (use --tcp for more)`);
  }
  const addresses = await resolveHost(target.host, "udp");
  let lastError: unknown;
  for (const address of addresses) {
    try {
      return await exchange(address, target.port, payload, opts);
    } catch (err) {
      lastError = err;
      // Only a refusal says this address is wrong; a timeout has already spent the user's patience.
      if (!(err instanceof NetError && err.code === "ECONNREFUSED")) throw err;
    }
  }
  throw lastError;
}

function exchange(address: string, port: number, payload: Uint8Array, opts: UdpRequestOptions): Promise<Reply> {
  const where = hostPort(address, port);
  return new Promise<Reply>((resolve, reject) => {
    let attempts = 0;
    let sentAt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let socket: Awaited<ReturnType<typeof Bun.udpSocket>> | undefined;
    let settled = false;
    const finish = (err: unknown, reply?: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.close();
      if (reply) resolve(reply);
      else reject(err);
    };
    const sendOnce = () => {
      if (attempts > opts.retries) {
        const tries = attempts === 1 ? "1 try" : `${attempts} tries`;
        finish(new NetError("read", "udp", where, `no reply after ${tries} of ${opts.timeoutMs}ms`, "ETIMEDOUT", "is a server running there? try --timeout or --retries"));
        return;
      }
      attempts++;
      sentAt = performance.now();
      try {
        socket!.send(payload);
      } catch (err) {
        finish(NetError.from("write", "udp", where, err));
        return;
      }
      if (opts.expectReply === false) {
        finish(undefined, { bytes: new Uint8Array(0), rttMs: 0, address, attempts });
        return;
      }
      timer = setTimeout(sendOnce, opts.timeoutMs);
    };
    // Promise.try: a connect that fails at once (ENETUNREACH) throws rather than rejecting.
    Promise.try(() => Bun.udpSocket({
      hostname: address.includes(":") ? "::" : "0.0.0.0",
      port: 0,
      connect: { hostname: address, port },
      socket: {
        data(_sock: unknown, bytes: Uint8Array) {
          finish(undefined, { bytes, rttMs: performance.now() - sentAt, address, attempts });
        },
        // Called with the socket as `this` and the error as the only argument (Bun 1.4).
        error(err: unknown) {
          const refused = errnoCode(err) === "ECONNREFUSED";
          finish(NetError.from("read", "udp", where, err, refused ? "nothing is listening on that port" : undefined));
        },
      } as never,
    })).then(
      (s) => {
        socket = s;
        if (settled) s.close();
        else sendOnce();
      },
      (err) => finish(NetError.from("connect", "udp", where, err)),
    );
  });
}
