// One request, whichever the transport: send a payload to a target and hand back the reply as it comes.
import { NetError } from "../errors.ts";
import type { ClientRole } from "../protocol/protocol.ts";
import { hostPort } from "./address.ts";
import type { Target } from "./target.ts";
import { tcpRequest } from "./tcp-client.ts";
import { udpRequest } from "./udp-client.ts";

export interface RequestOptions {
  /** timeoutMs bounds each wait: a UDP try, a TCP connect, a TCP read. */
  timeoutMs: number;
  /** retries is how many more UDP datagrams to send after timeouts (TCP has its own retransmission). */
  retries: number;
  /** onData receives the reply: one datagram, or the stream's chunks as they arrive. */
  onData(chunk: Uint8Array): void;
  /** role is what the protocol's client does: wait for a reply or not, half-close or not. */
  role?: ClientRole;
  /** maxBytes stops reading a stream once this much has come (chargen's --bytes). */
  maxBytes?: number;
}

/** RequestResult sums up an exchange. */
export interface RequestResult {
  readonly bytes: number;
  readonly rttMs: number;
  readonly address: string;
  readonly attempts: number;
}

/**
 * request sends the payload and resolves once the whole reply is in: one datagram, or the stream up to the server's
 * close.
 */
export async function request(target: Target, payload: Uint8Array, opts: RequestOptions): Promise<RequestResult> {
  if (target.transport === "udp") {
    const reply = await udpRequest(target, payload, { ...opts, expectReply: opts.role?.replies });
    opts.onData(reply.bytes);
    return { bytes: reply.bytes.length, rttMs: reply.rttMs, address: reply.address, attempts: reply.attempts };
  }
  const reply = await tcpRequest(target, payload, { ...opts, halfClose: !opts.role?.endless });
  // A server of a protocol that answers closed without a word: it refused us (a full server) or fell over.
  if (reply.bytes === 0 && opts.role?.replies && (payload.length > 0 || opts.role.speaksFirst) && opts.maxBytes !== 0) {
    throw new NetError({
      op: "read",
      transport: "tcp",
      address: hostPort(reply.address, target.port),
      reason: "connection closed by peer without a reply",
    });
  }
  return { ...reply, attempts: 1 };
}
