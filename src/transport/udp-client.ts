// The datagram adapter, client side: one datagram out, one reply back, with timeouts and retries.
import { NetError } from "../errors.ts";
import { hostPort } from "./address.ts";
import { dialEach } from "./dial-each.ts";
import { dialPacket } from "./packet-conn.ts";
import type { Target } from "./target.ts";
import { checkDatagram } from "./transport.ts";

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

/**
 * udpRequest sends one datagram and waits for one reply, sending again after each timeout, as a DNS stub resolver does.
 */
export async function udpRequest(target: Target, payload: Uint8Array, opts: UdpRequestOptions): Promise<Reply> {
  checkDatagram(payload.length);
  return dialEach(target.host, "udp", (address) => exchange(address, target.port, payload, opts));
}

async function exchange(address: string, port: number, payload: Uint8Array, opts: UdpRequestOptions): Promise<Reply> {
  const conn = await dialPacket(address, port);
  try {
    for (let attempts = 1; attempts <= opts.retries + 1; attempts++) {
      const sentAt = performance.now();
      conn.send(payload);
      if (opts.expectReply === false) return { bytes: new Uint8Array(0), rttMs: 0, address, attempts };
      const bytes = await conn.receive(opts.timeoutMs);
      if (bytes) return { bytes, rttMs: performance.now() - sentAt, address, attempts };
    }
    const tries = opts.retries === 0 ? "1 try" : `${opts.retries + 1} tries`;
    throw new NetError({
      op: "read",
      transport: "udp",
      address: hostPort(address, port),
      reason: `no reply after ${tries} of ${opts.timeoutMs}ms`,
      code: "ETIMEDOUT",
    });
  } finally {
    conn.close();
  }
}
