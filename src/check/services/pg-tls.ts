// A postgres connection that switches to TLS after the SSLRequest (postgres' STARTTLS), over node:net and node:tls:
// a dialled StreamConn cannot start TLS once it is up.
import { readFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { SSL_REQUEST } from "./pg-wire.ts";
import { deadlineIn, timeLimit } from "../../transport/time-limit.ts";

/** WireError is a failure with an errno-style code (ECONNREFUSED, ETIMEDOUT, EOF...) for stateOf. */
export class WireError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Wire is the little a check needs of a connection: write, read with a deadline, close. */
export interface Wire {
  write(bytes: Uint8Array): Promise<void>;
  /** read resolves with the next bytes, or null once the peer closed; it rejects with a WireError. */
  read(timeoutMs: number): Promise<Uint8Array | null>;
  close(): void;
}

/** NodeWire reads a node socket as a Wire. */
class NodeWire implements Wire {
  private readonly inbox: Uint8Array[] = [];
  private ended = false;
  private failure?: WireError;
  private waiting?: () => void;

  constructor(private readonly sock: Socket | TLSSocket) {
    sock.on("data", (chunk: Buffer) => {
      this.inbox.push(new Uint8Array(chunk));
      this.wake();
    });
    sock.on("end", () => {
      this.ended = true;
      this.wake();
    });
    sock.on("close", () => {
      this.ended = true;
      this.wake();
    });
    sock.on("error", (err: NodeJS.ErrnoException) => {
      this.failure ??= new WireError(err.message, err.code ?? "EPROTO");
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) =>
      this.sock.write(bytes, (err) => (err ? reject(new WireError(err.message, "EPIPE")) : resolve())),
    );
  }

  async read(timeoutMs: number): Promise<Uint8Array | null> {
    const deadline = deadlineIn(timeoutMs);
    for (;;) {
      const chunk = this.inbox.shift();
      if (chunk) return chunk;
      if (this.failure) throw this.failure;
      if (this.ended) return null;
      const left = deadline.left();
      if (left <= 0) throw new WireError(`timed out after ${timeoutMs}ms`, "ETIMEDOUT");
      await new Promise<void>((resolve) => {
        const timer = timeLimit(resolve, left);
        this.waiting = () => {
          timer.clear();
          resolve();
        };
      });
    }
  }

  close(): void {
    this.sock.end();
    this.sock.destroySoon?.();
  }
}

/** TlsAsk is how a postgres TLS connection is wanted: sslmode, and what verifying takes. */
export interface TlsAsk {
  /** mode is prefer, require, verify-ca or verify-full. */
  mode: string;
  /** serverName is the name the certificate must carry (verify-full), and SNI. */
  serverName?: string;
  /** rootCert is sslrootcert's PEM file; the system's roots without it. */
  rootCert?: string;
}

/** PgTlsResult: `tls` once the handshake is done; `plain` when the server said N (or, under prefer, no TLS). */
export type PgTlsResult =
  | { kind: "tls"; wire: Wire; authorized: boolean; authError?: string }
  | { kind: "plain"; wire: Wire }
  | { kind: "foreign"; bytes: Uint8Array };

/**
 * sslRequest connects, sends an SSLRequest and, on S, starts TLS; it rejects with a WireError for a failed connect,
 * a silent or vanished server, or a failed handshake.
 */
export async function sslRequest(address: string, port: number, ask: TlsAsk, timeoutMs: number): Promise<PgTlsResult> {
  const deadline = deadlineIn(timeoutMs);
  const left = () => Math.max(1, deadline.left());
  const sock = netConnect({ host: address, port });
  await withDeadline(
    new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", (err: NodeJS.ErrnoException) => reject(new WireError(err.message, err.code ?? "EPROTO")));
    }),
    left(),
    () => sock.destroy(),
  );
  const plain = new NodeWire(sock);
  await plain.write(SSL_REQUEST);
  let first: Uint8Array | null;
  try {
    first = await plain.read(left());
  } catch (err) {
    sock.destroy();
    throw err;
  }
  if (first === null) {
    sock.destroy();
    throw new WireError("connection closed by peer before answering the SSLRequest", "EOF");
  }
  if (first.length !== 1 || (first[0] !== 0x53 && first[0] !== 0x4e)) {
    sock.destroy();
    return { kind: "foreign", bytes: first };
  }
  if (first[0] === 0x4e) return { kind: "plain", wire: plain };
  sock.removeAllListeners("data");
  sock.removeAllListeners("end");
  sock.removeAllListeners("close");
  sock.removeAllListeners("error");
  const ca = ask.rootCert ? readFileSync(ask.rootCert, "utf8") : undefined;
  const tls = tlsConnect({
    socket: sock,
    servername: ask.serverName,
    rejectUnauthorized: false,
    ...(ca ? { ca } : {}),
  });
  const wire = new NodeWire(tls);
  await withDeadline(
    new Promise<void>((resolve, reject) => {
      tls.once("secureConnect", resolve);
      tls.once("error", (err: NodeJS.ErrnoException) => reject(new WireError(err.message, "EPROTO")));
    }),
    left(),
    () => tls.destroy(),
  );
  let authError = tls.authorizationError ? String(tls.authorizationError) : undefined;
  if (!authError && ask.mode === "verify-full" && ask.serverName) {
    const { checkServerIdentity } = await import("node:tls");
    const mismatch = checkServerIdentity(ask.serverName, tls.getPeerCertificate());
    if (mismatch) authError = mismatch.message;
  }
  return { kind: "tls", wire, authorized: authError === undefined, ...(authError ? { authError } : {}) };
}

function withDeadline<T>(p: Promise<T>, ms: number, onLate: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = timeLimit(() => {
      onLate();
      reject(new WireError(`timed out after ${Math.round(ms)}ms`, "ETIMEDOUT"));
    }, ms);
    p.then(
      (v) => {
        timer.clear();
        resolve(v);
      },
      (e) => {
        timer.clear();
        reject(e);
      },
    );
  });
}
