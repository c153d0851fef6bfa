// One TCP (or TLS) try at one address: the handshake, then optionally a probe sent and a reply read until it matches.
import type { Socket } from "bun";
import { errnoCode, REASONS } from "../errors.ts";
import type { Outcome, TlsInfo } from "./result.ts";
import { writePending } from "../transport/write-pending.ts";

export interface TlsProbe {
  /** serverName goes out as SNI and is what the certificate must name; undefined for an IP address. */
  serverName?: string;
  /** ca replaces the system's trusted roots (PEM), for private CAs and tests. */
  ca?: string;
  /** insecure accepts a certificate that does not verify (its details are still reported). */
  insecure: boolean;
  /** certDays fails a certificate that expires in fewer days. */
  certDays?: number;
}

export interface TcpProbeOptions {
  /** timeoutMs bounds the handshake, and then the wait for a matching reply. */
  timeoutMs: number;
  send?: Uint8Array;
  /** wanted says whether the reply so far is what was expected; without it the handshake is the whole check. */
  wanted?: (reply: Uint8Array) => boolean;
  tls?: TlsProbe;
  /** maxReply stops reading (and fails the match) once this much has come. */
  maxReply: number;
}

const DAY_MS = 86_400_000;

export function tcpProbe(address: string, port: number, opts: TcpProbeOptions): Promise<Outcome> {
  const started = performance.now();
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    let socket: Socket | undefined;
    let latencyMs: number | undefined;
    let tls: TlsInfo | undefined;
    let reply: Uint8Array = new Uint8Array(0);
    let pending = opts.send ?? new Uint8Array(0);
    let timer: ReturnType<typeof setTimeout> | undefined;

    const finish = (outcome: Omit<Outcome, "address" | "latencyMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // A polite close (FIN), as nc -z does; a half-made connection is dropped.
      if (socket) socket.end();
      resolve({ address, latencyMs: latencyMs ?? performance.now() - started, ...outcome, ...(tls ? { tls } : {}) });
    };
    const replyPart = () => (opts.wanted ? { reply } : {});
    const arm = (what: "connect" | "reply") => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (what === "connect") return finish({ state: "timeout", error: `no ${opts.tls ? "TLS handshake" : "connection"} within ${opts.timeoutMs}ms` });
        if (reply.length === 0) return finish({ state: "timeout", error: `no reply within ${opts.timeoutMs}ms`, reply });
        finish({ state: "mismatch", error: `the reply did not match within ${opts.timeoutMs}ms`, reply });
      }, opts.timeoutMs);
    };
    const pump = (sock: Socket) => {
      pending = writePending(sock, pending);
    };
    // The connection is up (and, for TLS, trusted): the check passes here unless a reply is wanted.
    const ready = (sock: Socket) => {
      latencyMs = performance.now() - started;
      if (!opts.wanted && pending.length === 0) return finish({ state: "open" });
      arm("reply");
      pump(sock);
      if (!opts.wanted && pending.length === 0) finish({ state: "open" });
    };

    arm("connect");
    Bun.connect({
      hostname: address,
      port,
      allowHalfOpen: true,
      ...(opts.tls ? { tls: { rejectUnauthorized: false, serverName: opts.tls.serverName, ...(opts.tls.ca ? { ca: opts.tls.ca } : {}) } } : {}),
      socket: {
        open(sock) {
          socket = sock;
          if (settled) return void sock.terminate();
          if (!opts.tls) ready(sock);
        },
        handshake(sock, _success, authError) {
          if (settled) return;
          // With rejectUnauthorized off, success stays true: the verdict on the chain is authError.
          tls = certificateOf(sock, authError === null);
          const t = opts.tls!;
          if (authError && !t.insecure) {
            return finish({ state: "error", error: `certificate not trusted: ${authError?.message ?? "verification failed"} (try --ca FILE, or --insecure)` });
          }
          if (t.certDays !== undefined && tls.days_left < t.certDays) {
            latencyMs = performance.now() - started;
            return finish({ state: "error", error: `certificate expires in ${tls.days_left} days (${tls.valid_to}), fewer than --cert-days ${t.certDays}` });
          }
          ready(sock);
        },
        data(sock, chunk) {
          if (settled || !opts.wanted) return;
          const room = opts.maxReply - reply.length;
          reply = concat(reply, chunk.length > room ? chunk.subarray(0, room) : chunk);
          // With a reply wanted, the time that counts is the time to it, as check_tcp reports.
          if (opts.wanted(reply)) {
            latencyMs = performance.now() - started;
            finish({ state: "open", reply });
          }
          else if (reply.length >= opts.maxReply) finish({ state: "mismatch", error: `no match in the first ${opts.maxReply} bytes`, reply });
        },
        drain(sock) {
          pump(sock);
          if (!opts.wanted && pending.length === 0) finish({ state: "open" });
        },
        end() {
          finish(reply.length === 0
            ? { state: "mismatch", error: "connection closed by peer without a reply", ...replyPart() }
            : { state: "mismatch", error: "connection closed by peer; the reply did not match", reply });
        },
        close(_sock, err) {
          if (err) finish({ state: "error", error: reasonOf(err), ...replyPart() });
          else finish({ state: "mismatch", error: "connection closed by peer without a reply", ...replyPart() });
        },
        error(_sock, err) {
          finish({ state: "error", error: reasonOf(err), ...replyPart() });
        },
        connectError(_sock, err) {
          finish(connectFailure(err));
        },
      },
    }).catch((err) => finish(connectFailure(err)));
  });
}

function connectFailure(err: unknown): Omit<Outcome, "address" | "latencyMs"> {
  const code = errnoCode(err);
  if (code === "ECONNREFUSED") return { state: "closed", error: "connection refused" };
  return { state: "error", error: reasonOf(err) };
}

function reasonOf(err: unknown): string {
  const code = errnoCode(err);
  return (code && REASONS[code]) ?? (err instanceof Error ? err.message : String(err));
}

function certificateOf(sock: Socket, authorized: boolean): TlsInfo {
  const cert = sock.getPeerX509Certificate?.();
  const validTo = cert ? new Date(cert.validTo) : new Date(NaN);
  return {
    subject: cert?.subject.replaceAll("\n", ", ") ?? "",
    issuer: cert?.issuer.replaceAll("\n", ", ") ?? "",
    valid_to: Number.isNaN(validTo.getTime()) ? "" : validTo.toISOString(),
    days_left: Math.floor((validTo.getTime() - Date.now()) / DAY_MS),
    authorized,
    protocol: sock.getTLSVersion?.() ?? null,
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
