// One TCP (or TLS) try at one address: the handshake, then optionally a probe sent and a reply read until it matches.
import type { Socket } from "bun";
import { errnoCode, REASONS } from "../errors.ts";
import { connectErrno } from "./connect-errno.ts";
import type { Cause, CheckState, Outcome, TlsInfo } from "./result.ts";
import { writePending } from "../transport/write-pending.ts";

export interface TlsProbe {
  /** serverName goes out as SNI and is what the certificate must name; undefined for an IP address. */
  serverName?: string;
  /** ca replaces the system's trusted roots (PEM), for private CAs and tests. */
  ca?: string;
  /** insecure accepts a certificate that does not verify (its details are still reported). */
  insecure: boolean;
  /** certDays grades the days left as check_tcp -D WARN,CRIT does: at most `warning` fails, at most `critical` is critical. */
  certDays?: CertDays;
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

/** CertDays is --cert-days WARN[,CRIT]: a certificate with days_left <= warning fails (check_tcp -D). */
export interface CertDays {
  warning: number;
  critical: number;
}

const DAY_MS = 86_400_000;
/** At least this long to ask the kernel why a connect was refused, even when the try's time is spent. */
const MIN_ERRNO_BUDGET_MS = 100;

type Verdict = Omit<Outcome, "address" | "latencyMs">;
const fail = (state: CheckState, cause: Cause, error: string, extra: Partial<Verdict> = {}): Verdict => ({ state, cause, error, ...extra });

export function tcpProbe(address: string, port: number, opts: TcpProbeOptions): Promise<Outcome> {
  const started = performance.now();
  const since = () => performance.now() - started;
  // A reply is asked for: the handshake alone does not pass, and a peer that goes quiet or away fails.
  const replyWanted = opts.wanted !== undefined;
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    let socket: Socket | undefined;
    let latencyMs: number | undefined;
    let tls: TlsInfo | undefined;
    let reply: Uint8Array = new Uint8Array(0);
    let pending = opts.send ?? new Uint8Array(0);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let connected = false;

    const finish = (verdict: Verdict) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // A polite close (FIN), as nc -z does; a half-made connection is dropped.
      if (socket) socket.end();
      resolve({ address, latencyMs: latencyMs ?? since(), ...verdict, ...(tls ? { tls } : {}) });
    };
    const replyPart = () => (replyWanted ? { reply } : {});
    // A mismatch is timed to the last byte that came, which is when check_tcp stops reading and judges.
    const mismatch = (error: string) => finish(fail("mismatch", "mismatch", error, { reply }));
    const arm = (what: "connect" | "reply") => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (what === "connect") return finish(fail("timeout", "timeout", `no ${opts.tls ? "TLS handshake" : "connection"} within ${opts.timeoutMs}ms`));
        if (reply.length === 0) return finish(fail("timeout", "timeout", `no reply within ${opts.timeoutMs}ms`, { reply }));
        mismatch(`the reply did not match within ${opts.timeoutMs}ms`);
      }, opts.timeoutMs);
    };
    const pump = (sock: Socket) => {
      pending = writePending(sock, pending);
    };
    // The connection is up (and, for TLS, trusted): the check passes here unless a reply is wanted.
    const ready = (sock: Socket) => {
      latencyMs = since();
      if (!replyWanted && pending.length === 0) return finish({ state: "open" });
      arm("reply");
      pump(sock);
      if (!replyWanted && pending.length === 0) finish({ state: "open" });
    };
    // The peer reset or closed an established connection: how that reads depends on what was asked.
    const gone = (how: "closed" | "reset") => {
      if (opts.tls && !tls) return finish(fail("error", how === "reset" ? "reset" : "not_tls", `connection ${how} by peer during the TLS handshake`));
      // Nothing was asked but the handshake: it completed, so the port is open (check_tcp says OK).
      if (!replyWanted) {
        latencyMs ??= since();
        return finish({ state: "open" });
      }
      if (reply.length > 0) return mismatch(`connection ${how} by peer; the reply did not match`);
      finish(fail("error", "no_data", `connection ${how} by peer without a reply`, replyPart()));
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
          connected = true;
          if (settled) return void sock.terminate();
          if (!opts.tls) ready(sock);
        },
        handshake(sock, success, authError) {
          if (settled) return;
          const t = opts.tls!;
          const cert = sock.getPeerX509Certificate?.();
          // A protocol error, or no certificate from a failed handshake: no TLS session came up (a
          // plain-text peer, or no common protocol). A certificate that came but does not verify
          // (untrusted, expired, another name) is authError only, and --insecure may pass it.
          if (errnoCode(authError) === "EPROTO" || (!success && !cert)) {
            return finish(fail("error", "not_tls", `TLS handshake failed: ${tlsReason(authError)} (does this port speak TLS?)`));
          }
          if (!cert) return finish(fail("error", "no_certificate", "the TLS peer presented no certificate"));
          tls = certificateOf(cert, authError === null, sock.getTLSVersion?.() ?? null);
          if (authError && !t.insecure) {
            const expired = errnoCode(authError) === "CERT_HAS_EXPIRED";
            if (expired) return finish(fail("error", "cert_expired", `certificate expired on ${tls.valid_to ?? "an unreadable date"}`));
            return finish(fail("error", "cert_untrusted", `certificate not trusted: ${authError.message || "verification failed"} (try --ca FILE, or --insecure)`));
          }
          if (t.certDays) {
            latencyMs = since();
            const graded = gradeExpiry(tls, t.certDays);
            if (graded) return finish(graded);
          }
          ready(sock);
        },
        data(sock, chunk) {
          if (settled || !opts.wanted) return;
          const room = opts.maxReply - reply.length;
          reply = concat(reply, chunk.length > room ? chunk.subarray(0, room) : chunk);
          // With a reply wanted, the time that counts is the time to it, as check_tcp reports.
          latencyMs = since();
          if (opts.wanted(reply)) finish({ state: "open", reply });
          else if (reply.length >= opts.maxReply) mismatch(`no match in the first ${opts.maxReply} bytes`);
        },
        drain(sock) {
          pump(sock);
          if (!replyWanted && pending.length === 0) finish({ state: "open" });
        },
        end() {
          gone("closed");
        },
        close(_sock, err) {
          if (err) gone(errnoCode(err) === "ECONNRESET" ? "reset" : "closed");
          else gone("closed");
        },
        error(_sock, err) {
          if (errnoCode(err) === "ECONNRESET" || errnoCode(err) === "EPIPE") return gone("reset");
          finish(fail("error", "other", reasonOf(err), replyPart()));
        },
        connectError(_sock, err) {
          void connectFailed(err);
        },
      },
    }).catch((err) => void connectFailed(err));

    async function connectFailed(err: unknown) {
      if (settled) return;
      const code = errnoCode(err);
      // Linux answers a SYN with a reset as ECONNREFUSED; ECONNRESET means the handshake completed and then the peer reset.
      if (code === "ECONNRESET" || connected) return gone("reset");
      if (code !== "ECONNREFUSED") return finish(fail("error", "other", reasonOf(err)));
      clearTimeout(timer);
      const failedAt = since();
      const real = await connectErrno(address, port, Math.max(MIN_ERRNO_BUDGET_MS, opts.timeoutMs - failedAt));
      latencyMs = failedAt;
      if (real === "EHOSTUNREACH" || real === "ENETUNREACH") return finish(fail("unreachable", "unreachable", REASONS[real]!));
      if (real === "EACCES" || real === "EPERM") return finish(fail("error", "other", REASONS[real]!));
      finish(fail("closed", "refused", "connection refused"));
    }
  });
}

/** gradeExpiry fails a certificate as check_tcp -D WARN,CRIT does, or returns undefined when it passes. */
export function gradeExpiry(tls: TlsInfo, days: CertDays): Verdict | undefined {
  const flag = `--cert-days ${days.warning}${days.critical ? `,${days.critical}` : ""}`;
  if (tls.days_left === null || tls.valid_to === null) return fail("error", "no_cert_date", `the certificate has no expiry date to check ${flag} against`);
  if (Date.parse(tls.valid_to) < Date.now()) return fail("error", "cert_expired", `certificate expired on ${tls.valid_to}`);
  const left = `certificate expires in ${tls.days_left} days (${tls.valid_to})`;
  if (tls.days_left <= days.critical) return fail("error", "cert_critical", `${left}: ${days.critical} or fewer is critical (${flag})`);
  if (tls.days_left <= days.warning) return fail("error", "cert_warning", `${left}: ${days.warning} or fewer fails (${flag})`);
  return undefined;
}

function reasonOf(err: unknown): string {
  const code = errnoCode(err);
  return (code && REASONS[code]) ?? (err instanceof Error ? err.message : String(err));
}

/** tlsReason is the library's reason for a failed handshake, shortened: "wrong version number". */
function tlsReason(err: Error | null): string {
  const text = err?.message ?? "";
  const reason = /:([A-Z0-9_]+)$/.exec(text)?.[1];
  return reason ? reason.toLowerCase().replaceAll("_", " ") : text || "no TLS session";
}

interface PeerCertificate {
  subject: string;
  issuer: string;
  validTo: string;
}

/** certificateOf reads what a check reports of a certificate; a date that does not parse is null, never NaN. */
function certificateOf(cert: PeerCertificate, authorized: boolean, protocol: string | null): TlsInfo {
  const validTo = Date.parse(cert.validTo);
  const known = Number.isFinite(validTo);
  return {
    subject: cert.subject.replaceAll("\n", ", "),
    issuer: cert.issuer.replaceAll("\n", ", "),
    valid_to: known ? new Date(validTo).toISOString() : null,
    // Truncated toward zero, as check_tcp counts: 9.9 days left is 9.
    days_left: known ? Math.trunc((validTo - Date.now()) / DAY_MS) : null,
    authorized,
    protocol,
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
