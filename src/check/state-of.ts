// Turns the error code of a failed try into the state it leaves the target in: one table for every probe, read from
// codes and never from words.
import type { Cause, CheckState } from "./result.ts";

/**
 * Stage is what a try was doing when it failed: one code says different things at different stages (a reset after
 * the handshake is an open port to a port check, and no reply to a check that wanted one).
 */
export type Stage =
  /** a TCP handshake that is the whole check (nc -z) */
  | "connect"
  /** a TCP handshake, with a reply wanted after it */
  | "connect-reply"
  /** a TCP handshake, then TLS's */
  | "connect-tls"
  /** reading the reply on a TCP connection that came up */
  | "reply"
  /** a protocol's own exchange over TCP, handshake and reply */
  | "exchange"
  /** a UDP probe, or a protocol's exchange over UDP: silence is no reply, not a timeout */
  | "udp"
  /** an HTTP request through fetch, TLS included */
  | "http";

/** Failed is a state and why; a cause is missing only where the error still means the target passed. */
export interface Failed {
  readonly state: CheckState;
  readonly cause?: Cause;
}

const CONNECTING: readonly Stage[] = ["connect", "connect-reply", "connect-tls"];

/** stateOf reads the state a try ends in from its error code (an errno name, or one of fetch's codes). */
export function stateOf(code: string | undefined, stage: Stage): Failed {
  // A reply that stopped coming tells only time and silence apart.
  if (stage === "reply") {
    if (code === "ETIMEDOUT") return { state: "timeout", cause: "timeout" };
    if (code === "ECONNRESET" || code === "EPIPE") return { state: "error", cause: "no_data" };
    return { state: "error", cause: "other" };
  }
  switch (code) {
    case "ECONNREFUSED":
      return { state: "closed", cause: "refused" };
    case "ETIMEDOUT":
      return stage === "udp" ? { state: "no_reply", cause: "timeout" } : { state: "timeout", cause: "timeout" };
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return { state: "unreachable", cause: "unreachable" };
    case "ECONNRESET":
      // Linux answers a SYN with a reset as ECONNREFUSED: ECONNRESET means the handshake completed, then the peer
      // reset. A port check has its answer; a check that wanted more has none.
      if (stage === "connect") return { state: "open" };
      return { state: "error", cause: stage === "connect-reply" || stage === "http" ? "no_data" : "reset" };
    case "EOF":
      // A clean close while connecting: the peer took the connection, not the TLS handshake.
      if (CONNECTING.includes(stage)) return { state: "error", cause: "not_tls" };
      break;
    case "EPROTO":
      if (stage === "http") return { state: "error", cause: "not_tls" };
      break;
  }
  if (stage === "http" && code) {
    // fetch names what it could not parse, and OpenSSL's verdict on a certificate, by code.
    if (/^(Malformed|Invalid)_?HTTP|^HPE_/i.test(code)) return { state: "error", cause: "not_http" };
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code))
      return { state: "error", cause: "cert_untrusted" };
  }
  return { state: "error", cause: "other" };
}
