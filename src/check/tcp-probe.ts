// One TCP (or TLS) try at one address: the handshake, then optionally a probe sent and a reply read until it matches.
import { errnoCode, type NetError } from "../errors.ts";
import { dialStream, type StreamConn, type TlsHandshake } from "../transport/stream-conn.ts";
import { deadlineIn, lapse } from "../transport/time-limit.ts";
import type { Cause, CheckState, Outcome, TlsInfo } from "./result.ts";
import { stateOf } from "./state-of.ts";
import type { ReplyTest } from "./match.ts";

export interface TlsProbe {
  /** serverName goes out as SNI and is what the certificate must name; undefined for an IP address. */
  serverName?: string;
  /** ca replaces the system's trusted roots (PEM), for private CAs and tests. */
  ca?: string;
  /** insecure accepts a certificate that does not verify (its details are still reported). */
  insecure: boolean;
  /**
   * certDays grades the days left as check_tcp -D WARN,CRIT does: at most `warning` fails, at most `critical` is
   * critical.
   */
  certDays?: CertDays;
}

export interface TcpProbeOptions {
  /** timeoutMs bounds the handshake, and then the wait for a matching reply. */
  timeoutMs: number;
  send?: Uint8Array;
  /** wanted says whether the reply so far is what was expected; without it the handshake is the whole check. */
  wanted?: ReplyTest;
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

type Verdict = Omit<Outcome, "address" | "latencyMs">;
const fail = (state: CheckState, cause: Cause, error: string, extra: Partial<Verdict> = {}): Verdict => ({
  state,
  cause,
  error,
  ...extra,
});

/**
 * tcpProbe makes one TCP (or TLS) try at one address through Bun's sockets; it never throws for a network failure,
 * which is a state of the target. A bare port check, loopback or not, is this handshake and nothing more.
 */
export async function tcpProbe(address: string, port: number, opts: TcpProbeOptions): Promise<Outcome> {
  const started = performance.now();
  const since = () => performance.now() - started;
  // A reply is asked for: the handshake alone does not pass, and a peer that goes quiet or away fails.
  const replyWanted = opts.wanted !== undefined;
  let conn: StreamConn;
  try {
    conn = await dialStream(address, port, {
      timeoutMs: opts.timeoutMs,
      tls: opts.tls && { serverName: opts.tls.serverName, ca: opts.tls.ca },
    });
  } catch (err) {
    return { address, latencyMs: since(), ...connectFailure(err as NetError, opts, replyWanted) };
  }
  let latencyMs = since();
  let tls: TlsInfo | undefined;
  const done = (verdict: Verdict): Outcome => {
    // A polite close (FIN), as nc -z does.
    conn.close();
    return { address, latencyMs, ...verdict, ...(tls ? { tls } : {}) };
  };
  if (opts.tls) {
    const judged = judgeHandshake(conn.tls!, opts.tls);
    tls = judged.tls;
    if (judged.verdict) return done(judged.verdict);
    latencyMs = since();
  }
  const send = opts.send ?? new Uint8Array(0);
  const deadline = deadlineIn(opts.timeoutMs);
  const left = () => Math.max(1, deadline.left());
  // Nothing to send and no reply wanted (a port check, as nc -z): the handshake was the check. Writing
  // nothing resolves at once, so the race below could only say "open"; it would still cost a timer a target.
  if (!replyWanted && send.length === 0) return done({ state: "open" });
  const writing = conn.write(send);
  if (!replyWanted) {
    // The connection is up (and, for TLS, trusted): the check passes once the probe is out.
    const out = await Promise.race([
      writing.then(
        () => "sent" as const,
        () => "gone" as const,
      ),
      lapse(left()).then(() => "late" as const),
    ]);
    if (out === "late") return done(fail("timeout", "timeout", `no reply within ${opts.timeoutMs}ms`, {}));
    return done({ state: "open" });
  }
  writing.catch(() => {});
  let reply: Uint8Array = new Uint8Array(0);
  // A mismatch is timed to the last byte that came, which is when check_tcp stops reading and judges.
  const mismatch = (error: string) => done(fail("mismatch", "mismatch", error, { reply }));
  const gone = (how: "closed" | "reset") =>
    reply.length > 0
      ? mismatch(`connection ${how} by peer; the reply did not match`)
      : done(fail("error", "no_data", `connection ${how} by peer without a reply`, { reply }));
  for (;;) {
    let chunk: Uint8Array | null;
    try {
      chunk = await conn.read(left());
    } catch (err) {
      const { state, cause = "other" } = stateOf((err as NetError).code, "reply");
      if (cause === "timeout") {
        if (reply.length === 0)
          return done(fail("timeout", "timeout", `no reply within ${opts.timeoutMs}ms`, { reply }));
        return mismatch(`the reply did not match within ${opts.timeoutMs}ms`);
      }
      if (cause === "no_data") return gone("reset");
      return done(fail(state, cause, (err as NetError).reason, { reply }));
    }
    if (chunk === null) return gone("closed");
    const room = opts.maxReply - reply.length;
    reply = concat(reply, chunk.length > room ? chunk.subarray(0, room) : chunk);
    // With a reply wanted, the time that counts is the time to it, as check_tcp reports.
    latencyMs = since();
    if (opts.wanted!(reply)) return done({ state: "open", reply });
    if (reply.length >= opts.maxReply) return mismatch(`no match in the first ${opts.maxReply} bytes`);
    // A reply that has left --expect-prefix never matches, however it goes on: no need to wait for --timeout.
    const differs = opts.wanted!.cannotMatch?.(reply);
    if (differs !== undefined) return mismatch(`the reply differs from --expect-prefix at byte ${differs}`);
  }
}

/** connectFailure is what a failed connect (or TLS handshake) says of the target. */
function connectFailure(err: NetError, opts: TcpProbeOptions, replyWanted: boolean): Verdict {
  const { state, cause } = stateOf(err.code, opts.tls ? "connect-tls" : replyWanted ? "connect-reply" : "connect");
  switch (cause) {
    case undefined:
      return { state };
    case "timeout":
      return fail(state, cause, `no ${opts.tls ? "TLS handshake" : "connection"} within ${opts.timeoutMs}ms`);
    case "refused":
      return fail(state, cause, "connection refused");
    case "not_tls":
      return fail(state, cause, "connection closed by peer during the TLS handshake");
    case "reset":
      return fail(state, cause, "connection reset by peer during the TLS handshake");
    case "no_data":
      return fail(state, cause, "connection reset by peer without a reply");
    default:
      return fail(state, cause, err.reason);
  }
}

/** judgeHandshake reads the TLS handshake as a check does; a verdict is set when the check fails there. */
function judgeHandshake(handshake: TlsHandshake, t: TlsProbe): { tls?: TlsInfo; verdict?: Verdict } {
  const { success, authError, certificate } = handshake;
  // A protocol error, or no certificate from a failed handshake: no TLS session came up (a
  // plain-text peer, or no common protocol). A certificate that came but does not verify
  // (untrusted, expired, another name) is authError only, and --insecure may pass it.
  if (errnoCode(authError) === "EPROTO" || (!success && !certificate)) {
    return {
      verdict: fail("error", "not_tls", `TLS handshake failed: ${tlsReason(authError)} (does this port speak TLS?)`),
    };
  }
  if (!certificate) return { verdict: fail("error", "no_certificate", "the TLS peer presented no certificate") };
  const tls = certificateOf(certificate, authError === null, handshake.version);
  if (authError && !t.insecure) {
    if (errnoCode(authError) === "CERT_HAS_EXPIRED")
      return {
        tls,
        verdict: fail("error", "cert_expired", `certificate expired on ${tls.valid_to ?? "an unreadable date"}`),
      };
    return {
      tls,
      verdict: fail(
        "error",
        "cert_untrusted",
        `certificate not trusted: ${authError.message || "verification failed"} (try --ca FILE, or --insecure)`,
      ),
    };
  }
  const graded = t.certDays && gradeExpiry(tls, t.certDays);
  return graded ? { tls, verdict: graded } : { tls };
}

/** gradeExpiry fails a certificate as check_tcp -D WARN,CRIT does, or returns undefined when it passes. */
export function gradeExpiry(tls: TlsInfo, days: CertDays): Verdict | undefined {
  const flag = `--cert-days ${days.warning}${days.critical ? `,${days.critical}` : ""}`;
  if (tls.days_left === null || tls.valid_to === null)
    return fail("error", "no_cert_date", `the certificate has no expiry date to check ${flag} against`);
  if (Date.parse(tls.valid_to) < Date.now())
    return fail("error", "cert_expired", `certificate expired on ${tls.valid_to}`);
  const left = `certificate expires in ${tls.days_left} days (${tls.valid_to})`;
  if (tls.days_left <= days.critical)
    return fail("error", "cert_critical", `${left}: ${days.critical} or fewer is critical (${flag})`);
  if (tls.days_left <= days.warning)
    return fail("error", "cert_warning", `${left}: ${days.warning} or fewer fails (${flag})`);
  return undefined;
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
