// A dialled stream, as Go's net.Conn: connect (and TLS) with a deadline, write, half-close, read, close.
// Every TCP client (send, check, bench) is built on it instead of on Bun.connect's callbacks.
import type { Socket } from "bun";
import type { X509Certificate } from "node:crypto";
import { errnoCode, NetError, REASONS } from "../errors.ts";
import { hostPort } from "./address.ts";
import { connectErrno } from "./connect-errno.ts";
import { type TimeLimit, timeLimit } from "./time-limit.ts";
import { WriteQueue } from "./write-queue.ts";

export interface DialStreamOptions {
  /** timeoutMs bounds the connect and, for TLS, the handshake. */
  timeoutMs: number;
  /** tls, when set, makes the connection TLS; the certificate is not verified here: see StreamConn.tls. */
  tls?: { serverName?: string; ca?: string };
}

/** TlsHandshake is what the TLS handshake showed; the caller judges it (--insecure, --cert-days). */
export interface TlsHandshake {
  readonly success: boolean;
  /** authError is why the certificate does not verify, or null when it does. */
  readonly authError: Error | null;
  readonly certificate: X509Certificate | undefined;
  readonly version: string | null;
}

const DONE = Promise.resolve();

/** StreamHandlers take a stream's input as it comes, for a pump where a promise a chunk costs too much (bench). */
export interface StreamHandlers {
  data(chunk: Uint8Array): void;
  /** end: the peer half-closed; error: the connection broke. Either comes once, and nothing after it. */
  end(): void;
  error(err: NetError): void;
}

/** StreamConn is one connected stream socket. */
export class StreamConn {
  /** tls is set once a TLS handshake has finished, whatever its verdict. */
  tls?: TlsHandshake;
  /** connectedMs is how long the connect (and TLS handshake) took. */
  connectedMs = 0;
  private readonly where: string;
  private readonly out = new WriteQueue();
  private readonly inbox: Uint8Array[] = [];
  private reader?: {
    resolve(chunk: Uint8Array | null): void;
    reject(err: unknown): void;
    timer?: TimeLimit;
    timeoutMs?: number;
  };
  private readTimeoutMs?: number;
  private flushed: (() => void)[] = [];
  private writeFailed: ((err: unknown) => void)[] = [];
  /** eof: the peer half-closed; failure: the connection broke; writeClosed: we half-closed. */
  private eof = false;
  private failure?: NetError;
  private closeWriteWhenFlushed = false;
  private handlers?: StreamHandlers;
  /** lastMoved is when bytes last went out or came in, for read's timeout. */
  private lastMoved = 0;

  constructor(
    private readonly sock: Socket<StreamConn>,
    readonly address: string,
    readonly port: number,
  ) {
    this.where = hostPort(address, port);
  }

  /** pendingBytes is output the kernel has not taken yet. */
  get pendingBytes(): number {
    return this.out.queued;
  }

  /**
   * write hands bytes to the kernel; it resolves once the kernel has taken them all. With timeoutMs,
   * it rejects (ETIMEDOUT) when the kernel takes nothing for that long: the peer stopped reading.
   */
  write(bytes: Uint8Array, timeoutMs?: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.out.write(this.sock, bytes) < 0)
      return Promise.reject(this.broken("write", new Error("connection closed"), "EPIPE"));
    if (this.out.queued === 0) return DONE;
    this.lastMoved = performance.now();
    return new Promise<void>((resolve, reject) => {
      let timer: TimeLimit | undefined;
      const check = () => {
        const idle = performance.now() - this.lastMoved;
        if (idle < timeoutMs!) return void (timer = timeLimit(check, timeoutMs! - idle));
        reject(
          new NetError({
            op: "write",
            transport: "tcp",
            address: this.where,
            reason: `timed out after ${timeoutMs}ms`,
            code: "ETIMEDOUT",
          }),
        );
      };
      if (timeoutMs !== undefined) timer = timeLimit(check, timeoutMs);
      this.flushed.push(() => {
        timer?.clear();
        resolve();
      });
      this.writeFailed.push((err) => {
        timer?.clear();
        reject(err);
      });
    });
  }

  /** closeWrite sends FIN once everything written is out: the peer sees the end, and we go on reading. */
  closeWrite(): void {
    if (this.out.queued === 0) this.sock.shutdown();
    else this.closeWriteWhenFlushed = true;
  }

  /**
   * read resolves with the next bytes that came, or null once the peer has half-closed. It rejects
   * when the connection broke, or with ETIMEDOUT when nothing moved either way for the read timeout
   * (this call's timeoutMs, else setReadTimeout's): a long request still going out to a server that
   * answers at the end is not a stall.
   */
  read(timeoutMs?: number): Promise<Uint8Array | null> {
    const chunk = this.inbox.shift();
    if (chunk) return Promise.resolve(chunk);
    if (this.failure) return Promise.reject(this.failure);
    if (this.eof) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.reader = { resolve, reject, timeoutMs: timeoutMs ?? this.readTimeoutMs };
      this.lastMoved = performance.now();
      this.armReader();
    });
  }

  /**
   * setReadTimeout bounds every read from now on, the one waiting included (Go's SetReadDeadline, as
   * a span of silence): a client streaming stdin sets it once its input has ended, not before.
   */
  setReadTimeout(timeoutMs: number | undefined): void {
    this.readTimeoutMs = timeoutMs;
    if (!this.reader) return;
    this.reader.timeoutMs = timeoutMs;
    this.lastMoved = performance.now();
    this.armReader();
  }

  private armReader(): void {
    const reader = this.reader!;
    reader.timer?.clear();
    const ms = reader.timeoutMs;
    if (ms === undefined) return;
    const check = () => {
      const idle = performance.now() - this.lastMoved;
      if (idle < ms) return void (reader.timer = timeLimit(check, ms - idle));
      if (this.reader !== reader) return;
      this.reader = undefined;
      reader.reject(
        new NetError({
          op: this.out.queued > 0 ? "write" : "read",
          transport: "tcp",
          address: this.where,
          reason: `timed out after ${ms}ms`,
          code: "ETIMEDOUT",
        }),
      );
    };
    reader.timer = timeLimit(check, ms);
  }

  /** listen hands all input to the handlers from now on, in place of read(). */
  listen(handlers: StreamHandlers): void {
    this.handlers = handlers;
    for (const chunk of this.inbox.splice(0)) handlers.data(chunk);
    if (this.failure) handlers.error(this.failure);
    else if (this.eof) handlers.end();
  }

  /** close ends the connection politely (FIN), dropping anything still to read. */
  close(): void {
    this.sock.end();
  }

  /** reset drops the connection at once (RST where the kernel can). */
  reset(): void {
    this.sock.terminate();
  }

  // The handlers below are Bun's socket events, routed here by dialStream.

  /** received takes bytes from the socket. */
  received(chunk: Uint8Array): void {
    if (this.handlers) this.handlers.data(chunk);
    else if (this.reader) this.deliver(chunk);
    else this.inbox.push(chunk);
  }

  drained(): void {
    const taken = this.out.flush(this.sock);
    if (taken < 0) return void this.broke(this.broken("write", new Error("connection closed"), "EPIPE"));
    if (taken > 0) this.lastMoved = performance.now();
    if (this.out.queued > 0) return;
    if (this.closeWriteWhenFlushed) this.sock.shutdown();
    for (const resolve of this.flushed.splice(0)) resolve();
    this.writeFailed = [];
  }

  ended(): void {
    if (this.eof) return;
    this.eof = true;
    if (this.handlers) this.handlers.end();
    else if (this.reader) this.deliver(null);
  }

  broke(err: NetError): void {
    if (this.failure) return;
    this.failure = err;
    this.handlers?.error(err);
    this.out.clear();
    for (const reject of this.writeFailed.splice(0)) reject(this.failure);
    this.flushed = [];
    if (this.reader) {
      const { reject, timer } = this.reader;
      this.reader = undefined;
      timer?.clear();
      reject(this.failure);
    }
  }

  /** broken is the error for a connection that failed, named by what was going on. */
  broken(op: string, err: unknown, code?: string): NetError {
    const e = NetError.from(op, "tcp", this.where, err);
    return code && !e.code
      ? new NetError({ op, transport: "tcp", address: this.where, reason: "connection closed by peer", code })
      : e;
  }

  private deliver(chunk: Uint8Array | null): void {
    const { resolve, timer } = this.reader!;
    this.reader = undefined;
    timer?.clear();
    resolve(chunk);
  }
}

/**
 * dialStream connects to one address (an IP literal) and resolves once the connection, and any TLS handshake, is up.
 */
export function dialStream(address: string, port: number, opts: DialStreamOptions): Promise<StreamConn> {
  const where = hostPort(address, port);
  const started = performance.now();
  return new Promise<StreamConn>((resolve, reject) => {
    let settled = false;
    let socket: Socket<StreamConn> | undefined;
    const settle = (err: NetError | undefined, conn?: StreamConn) => {
      if (settled) return;
      settled = true;
      timer.clear();
      if (conn) {
        conn.connectedMs = performance.now() - started;
        resolve(conn);
      } else {
        socket?.terminate();
        reject(err);
      }
    };
    const what = opts.tls ? "TLS handshake" : "connection";
    const late = opts.tls ? `no TLS handshake within ${opts.timeoutMs}ms` : `timed out after ${opts.timeoutMs}ms`;
    const timer = timeLimit(
      () => settle(new NetError({ op: "connect", transport: "tcp", address: where, reason: late, code: "ETIMEDOUT" })),
      opts.timeoutMs,
    );
    Bun.connect<StreamConn>({
      hostname: address,
      port,
      // The peer's FIN ends its output, not ours: a request may still be going out.
      allowHalfOpen: true,
      ...(opts.tls
        ? {
            tls: {
              rejectUnauthorized: false,
              serverName: opts.tls.serverName,
              ...(opts.tls.ca ? { ca: opts.tls.ca } : {}),
            },
          }
        : {}),
      socket: {
        open(sock) {
          socket = sock;
          if (settled) return void sock.terminate();
          sock.data = new StreamConn(sock, address, port);
          if (!opts.tls) settle(undefined, sock.data);
        },
        handshake(sock, success, authError) {
          if (settled || !sock.data) return;
          sock.data.tls = {
            success,
            authError,
            certificate: sock.getPeerX509Certificate?.(),
            version: sock.getTLSVersion?.() ?? null,
          };
          settle(undefined, sock.data);
        },
        data(sock, chunk) {
          sock.data?.received(chunk);
        },
        drain(sock) {
          sock.data?.drained();
        },
        end(sock) {
          // EOF: not an errno, the peer's clean close before the connection (a TLS handshake) was up.
          if (!settled)
            return settle(
              new NetError({
                op: "connect",
                transport: "tcp",
                address: where,
                reason: `connection closed by peer during the ${what}`,
                code: "EOF",
              }),
            );
          sock.data?.ended();
        },
        // Bun hands a reset to close, not to error.
        close(sock, err) {
          if (!settled) return void refused(err ?? new Error("connection closed"));
          if (err) sock.data?.broke(sock.data.broken("read", err));
          else sock.data?.ended();
        },
        error(sock, err) {
          if (!settled) return void refused(err);
          sock.data?.broke(sock.data.broken("read", err));
        },
        connectError(sock, err) {
          if (!settled) return void refused(err);
          // After the handshake: the peer reset the connection it had accepted.
          sock.data?.broke(sock.data.broken("read", err));
        },
      },
    }).catch((err) => refused(err));

    /**
     * refused settles a failed connect with the kernel's own reason: Bun says ECONNREFUSED for every
     * failed connect, unreachable hosts and networks too, so a refusal is asked of the kernel again.
     */
    async function refused(err: unknown): Promise<void> {
      if (settled) return;
      if (errnoCode(err) !== "ECONNREFUSED") return settle(NetError.from("connect", "tcp", where, err));
      settled = true;
      timer.clear();
      const elapsed = performance.now() - started;
      const real = await connectErrno(address, port, Math.max(MIN_ERRNO_BUDGET_MS, opts.timeoutMs - elapsed));
      // Connected at once: what failed was not the port (a socket Bun could not make, when files ran short).
      if (real === "connected")
        return reject(new NetError({ op: "connect", transport: "tcp", address: where, reason: FAILED_HERE }));
      const code = real && REFINED.has(real) ? real : "ECONNREFUSED";
      reject(new NetError({ op: "connect", transport: "tcp", address: where, reason: REASONS[code]!, code }));
    }
  });
}

/**
 * REFINED are the causes a second look at a refused connect can find; anything else stays a refusal. EMFILE and
 * ENFILE: Bun says ECONNREFUSED when it could not make the socket at all (Bun 1.4.5), a port "closed" that is open.
 */
const REFINED = new Set(["EHOSTUNREACH", "ENETUNREACH", "EACCES", "EPERM", "EMFILE", "ENFILE"]);
const FAILED_HERE = "the connect failed, and a second try at once connected: not a refusal by the port";
/** At least this long to ask the kernel why a connect was refused, even when the try's time is spent. */
const MIN_ERRNO_BUDGET_MS = 100;
