// The datagram adapter, client side: one datagram out, one reply back, with timeouts and retries.
import { errnoCode, NetError, UsageError } from "../errors.ts";
import { hostPort, resolveHost } from "./address.ts";
import type { Target } from "./target.ts";
import { MAX_DATAGRAM } from "./transport.ts";

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
