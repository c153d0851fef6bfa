// The stream adapter, client side: connect, send, half-close, read until the server closes.
import { NetError } from "../errors.ts";
import { hostPort } from "./address.ts";
import { dialEach } from "./dial-each.ts";
import { dialStream } from "./stream-conn.ts";
import type { Target } from "./target.ts";

export interface TcpRequestOptions {
  /** timeoutMs bounds the connect, and each wait for the server to read or answer. */
  timeoutMs: number;
  /** onData receives the reply as it arrives. */
  onData(chunk: Uint8Array): void;
  /**
   * halfClose: send FIN after the payload (the default); a server that talks until the client goes (chargen) must not
   * get one.
   */
  halfClose?: boolean;
  /** maxBytes ends the exchange, from our side, once this much has arrived. */
  maxBytes?: number;
}

/** StreamReply sums up a TCP exchange: bytes received, time to the first reply byte, and the address used. */
export interface StreamReply {
  readonly bytes: number;
  readonly rttMs: number;
  readonly address: string;
}

/**
 * tcpRequest is the textbook's TCP client: connect, send the payload, half-close, and read until
 * the server closes. Addresses of a host name are tried in turn while they refuse.
 */
export function tcpRequest(target: Target, payload: Uint8Array, opts: TcpRequestOptions): Promise<StreamReply> {
  return dialEach(target.host, "tcp", (address) => converse(address, target.port, payload, opts));
}

async function converse(
  address: string,
  port: number,
  payload: Uint8Array,
  opts: TcpRequestOptions,
): Promise<StreamReply> {
  const conn = await dialStream(address, port, { timeoutMs: opts.timeoutMs });
  const sentAt = performance.now();
  const max = opts.maxBytes ?? Infinity;
  let received = 0;
  let firstByteAt: number | undefined;
  try {
    const writing = conn.write(payload).then(() => {
      if (opts.halfClose !== false) conn.closeWrite();
    });
    // A failed write shows as the read that follows it: keep the rejection from going unheard meanwhile.
    writing.catch(() => {});
    while (received < max) {
      const chunk = await conn.read(opts.timeoutMs);
      if (chunk === null) {
        // A server that closes before it has taken the whole request has not answered it.
        if (conn.pendingBytes > 0)
          throw new NetError({
            op: "write",
            transport: "tcp",
            address: hostPort(address, port),
            reason: "connection closed by peer before the request was sent",
            code: "EPIPE",
          });
        break;
      }
      firstByteAt ??= performance.now();
      const take = chunk.length > max - received ? chunk.subarray(0, max - received) : chunk;
      received += take.length;
      opts.onData(take);
    }
    if (received >= max) conn.close();
    else await writing;
    return { bytes: received, rttMs: (firstByteAt ?? performance.now()) - sentAt, address };
  } catch (err) {
    conn.reset();
    throw err;
  }
}
