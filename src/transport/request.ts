// One request, whichever the transport: send a payload to a target and hand back the reply as it comes.
import type { Target } from "./target.ts";
import { tcpRequest } from "./tcp.ts";
import { udpRequest } from "./udp.ts";

export interface RequestOptions {
  /** timeoutMs bounds each wait: a UDP try, a TCP connect, a TCP read. */
  timeoutMs: number;
  /** retries is how many more UDP datagrams to send after timeouts (TCP has its own retransmission). */
  retries: number;
  /** onData receives the reply: one datagram, or the stream's chunks as they arrive. */
  onData(chunk: Uint8Array): void;
}

/** RequestResult sums up an exchange. */
export interface RequestResult {
  readonly bytes: number;
  readonly rttMs: number;
  readonly address: string;
  readonly attempts: number;
}

/** request sends the payload and resolves once the whole reply is in: one datagram, or the stream up to the server's close. */
export async function request(target: Target, payload: Uint8Array, opts: RequestOptions): Promise<RequestResult> {
  if (target.transport === "udp") {
    const reply = await udpRequest(target, payload, opts);
    opts.onData(reply.bytes);
    return { bytes: reply.bytes.length, rttMs: reply.rttMs, address: reply.address, attempts: reply.attempts };
  }
  const reply = await tcpRequest(target, payload, opts);
  return { ...reply, attempts: 1 };
}
