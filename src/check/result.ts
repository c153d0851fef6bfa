// What one check found, in the words scripts read: a state, the time it took, and why.
import type { Target } from "../transport/target.ts";
import type { ServiceEndpoint } from "./services/endpoint.ts";

/** HttpEndpoint is what an http:// or https:// target asks for beyond its host and port. */
export interface HttpEndpoint {
  /** url is the URL as the WHATWG parser normalised it: what the target is named by. */
  readonly url: string;
  readonly secure: boolean;
}

/** CheckTarget is a TARGET as check reads it: a transport, host and port, and an HTTP(S) or service URL. */
export interface CheckTarget extends Target {
  readonly http?: HttpEndpoint;
  readonly service?: ServiceEndpoint;
}

/** HttpInfo is what an HTTP(S) check saw of the response; status is null when none came. */
export interface HttpInfo {
  readonly status: number | null;
  readonly reason: string | null;
  /** location is the Location header of a redirect (3xx) that was not followed, else null. */
  readonly location: string | null;
  /** redirects counts the redirects followed under --follow. */
  readonly redirects: number;
}

/**
 * STATE_MEANINGS are every state a check can end in, with what each means: the one table the man page, the JSON
 * schema and the prometheus series are made from.
 */
export const STATE_MEANINGS = {
  open: "reachable (and, when asked, the reply matched)",
  closed: "refused at once (TCP RST, or ICMP port unreachable for UDP)",
  unreachable: "the network said no route: ICMP host or network unreachable, or the local routing table",
  timeout: "no TCP handshake, or no wanted reply, within --timeout",
  no_reply: "a UDP probe went out and nothing came back (open or filtered, as nmap says)",
  mismatch: "a reply came but not the one expected (HTTP: a status outside --status, or a body that did not match)",
  not_ready: "the service answered that it is not ready (starting up, loading, too many clients), in its own words",
  error: "anything else: unknown host, a reset, a TLS failure, a certificate too close to expiry",
} as const;

/** CheckState is the state of a target after its last try: one of STATE_MEANINGS. */
export type CheckState = keyof typeof STATE_MEANINGS;

/** STATES are the states in STATE_MEANINGS' order. */
export const STATES = Object.keys(STATE_MEANINGS) as readonly CheckState[];

/**
 * Cause is why a try failed (or, for cert_warning, why a pass is graded down), as a code: the CLI and
 * --nagios grade and word a result from it, never from the message text.
 */
export type Cause =
  | "refused"
  | "unreachable"
  | "timeout"
  | "no_data" // the peer closed (or reset) the connection before sending anything, and a reply was wanted
  | "reset"
  | "mismatch"
  | "not_tls" // the TLS handshake failed: the peer does not speak TLS, or no common ground
  | "no_certificate"
  | "cert_untrusted"
  | "cert_expired"
  | "cert_critical" // expires within the critical --cert-days
  | "cert_warning" // expires within the warning --cert-days
  | "no_cert_date"
  | "resolve"
  | "http_status" // an HTTP response came with a status outside --status
  | "not_http" // the peer answered, but not in HTTP
  | "too_many_redirects"
  | "not_ready" // the service said it is not ready yet: postgres starting up, redis -LOADING, a MySQL error greeting
  | "auth_failed" // the service refused the credentials given
  | "auth_required" // the service wants credentials and none were given
  | "wrong_service" // something answered, but not the service the URL names
  | "nxdomain" // the DNS server says the name does not exist
  | "servfail" // the DNS server failed to answer for the name
  | "dns_refused" // the DNS server refused the query
  | "other";

/** TlsInfo is what a TLS handshake showed about the server's certificate. */
export interface TlsInfo {
  readonly subject: string;
  readonly issuer: string;
  /** valid_to is the certificate's notAfter as ISO 8601, or null when it has none that reads as a date. */
  readonly valid_to: string | null;
  /** days_left counts whole days to valid_to, truncated as check_tcp does; null when there is no date. */
  readonly days_left: number | null;
  readonly authorized: boolean;
  readonly protocol: string | null;
}

/** CheckResult is one target's verdict. */
export interface CheckResult {
  readonly target: CheckTarget;
  readonly state: CheckState;
  /** ok is the verdict the exit status is made of. */
  readonly ok: boolean;
  /** address is the IP address the last try used, when the name resolved. */
  readonly address?: string;
  /** latencyMs is connect (TCP) or round-trip (UDP) time of the last try, or how long it took to fail. */
  readonly latencyMs: number;
  readonly reply?: Uint8Array;
  readonly error?: string;
  readonly cause?: Cause;
  readonly tls?: TlsInfo;
  readonly http?: HttpInfo;
  readonly attempts: number;
}

/** Outcome is one try, before retries and --udp-silent-ok have had their say. */
export type Outcome = Omit<CheckResult, "ok" | "attempts" | "target">;
