// The stream adapter, client side: connect, send, half-close, read until the server closes.
import type { Socket } from "bun";
import { errnoCode, NetError } from "../errors.ts";
import { hostPort, resolveHost } from "./address.ts";
import type { Target } from "./target.ts";
import { writePending } from "./write-pending.ts";

export interface TcpRequestOptions {
  /** timeoutMs bounds the connect, and each wait for the server to read or answer. */
  timeoutMs: number;
  /** onData receives the reply as it arrives. */
  onData(chunk: Uint8Array): void;
  /** halfClose: send FIN after the payload (the default); a server that talks until the client goes (chargen) must not get one. */
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
export async function tcpRequest(target: Target, payload: Uint8Array, opts: TcpRequestOptions): Promise<StreamReply> {
  const addresses = await resolveHost(target.host, "tcp");
  let lastError: unknown;
  for (const address of addresses) {
    try {
      return await converse(address, target.port, payload, opts);
    } catch (err) {
      lastError = err;
      if (!(err instanceof NetError && err.op === "connect" && err.code === "ECONNREFUSED")) throw err;
    }
  }
  throw lastError;
}

function converse(address: string, port: number, payload: Uint8Array, opts: TcpRequestOptions): Promise<StreamReply> {
  const where = hostPort(address, port);
  return new Promise<StreamReply>((resolve, reject) => {
    let connected = false;
    let settled = false;
    let pending = payload;
    let received = 0;
    let sentAt = 0;
    let firstByteAt: number | undefined;
    let socket: Socket | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        socket?.terminate();
        reject(err);
      } else {
        resolve({ bytes: received, rttMs: (firstByteAt ?? performance.now()) - sentAt, address });
      }
    };
    // One timer: for the connect first, then for each wait in which nothing moves.
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const op = !connected ? "connect" : pending.length > 0 ? "write" : "read";
        settle(new NetError(op, "tcp", where, `timed out after ${opts.timeoutMs}ms`, "ETIMEDOUT", "try --timeout"));
      }, opts.timeoutMs);
    };
    // Writes what the kernel takes; once everything is out, half-close so the server sees the end.
    const pump = (sock: Socket) => {
      pending = writePending(sock, pending);
      if (pending.length === 0 && opts.halfClose !== false) sock.shutdown();
    };

    arm();
    Bun.connect({
      hostname: address,
      port,
      allowHalfOpen: true,
      socket: {
        open(sock) {
          socket = sock;
          if (settled) return void sock.terminate();
          connected = true;
          sentAt = performance.now();
          arm();
          pump(sock);
        },
        data(sock, chunk) {
          if (settled) return;
          firstByteAt ??= performance.now();
          const room = (opts.maxBytes ?? Infinity) - received;
          const take = chunk.length > room ? chunk.subarray(0, room) : chunk;
          received += take.length;
          arm();
          opts.onData(take);
          if (received >= (opts.maxBytes ?? Infinity)) {
            sock.end();
            settle();
          }
        },
        drain(sock) {
          arm();
          pump(sock);
        },
        end(sock) {
          // A server that closes before it has taken the whole request has not answered it.
          if (pending.length > 0) settle(new NetError("write", "tcp", where, "connection closed by peer before the request was sent", "EPIPE"));
          else settle();
          // Settled first: end() runs the close handler at once.
          sock.end();
        },
        // Bun hands a reset to close, not to error.
        close(_sock, err) {
          settle(err ? NetError.from(pending.length > 0 ? "write" : "read", "tcp", where, err) : undefined);
        },
        error(_sock, err) {
          settle(NetError.from("read", "tcp", where, err));
        },
        connectError(_sock, err) {
          settle(connectError(where, err));
        },
      },
    }).catch((err) => settle(connectError(where, err)));
  });
}

/** connectError is a failed TCP connect as every client reports it, with the hint when it was refused. */
export function connectError(where: string, err: unknown): NetError {
  const refused = errnoCode(err) === "ECONNREFUSED";
  return NetError.from("connect", "tcp", where, err, refused ? "is a server running there?" : undefined);
}
