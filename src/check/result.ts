// What one check found, in the words scripts read: a state, the time it took, and why.
import type { Target } from "../transport/target.ts";

/**
 * State of a target after its last try:
 * open      reachable (and, when asked, the reply matched);
 * closed    refused at once (TCP RST, or ICMP port unreachable for UDP);
 * timeout   no TCP handshake, or no wanted reply, within --timeout;
 * no_reply  a UDP probe went out and nothing came back (open or filtered, as nmap says);
 * mismatch  a reply came but not the one expected;
 * error     anything else: unknown host, unreachable network, TLS failure, certificate too close to expiry.
 */
export type CheckState = "open" | "closed" | "timeout" | "no_reply" | "mismatch" | "error";

/** TlsInfo is what a TLS handshake showed about the server's certificate. */
export interface TlsInfo {
  readonly subject: string;
  readonly issuer: string;
  readonly valid_to: string;
  readonly days_left: number;
  readonly authorized: boolean;
  readonly protocol: string | null;
}

/** CheckResult is one target's verdict. */
export interface CheckResult {
  readonly target: Target;
  readonly state: CheckState;
  /** ok is the verdict the exit status is made of. */
  readonly ok: boolean;
  /** address is the IP address the last try used, when the name resolved. */
  readonly address?: string;
  /** latencyMs is connect (TCP) or round-trip (UDP) time of the last try, or how long it took to fail. */
  readonly latencyMs: number;
  readonly reply?: Uint8Array;
  readonly error?: string;
  readonly tls?: TlsInfo;
  readonly attempts: number;
}

/** Outcome is one try, before retries and --udp-silent-ok have had their say. */
export type Outcome = Omit<CheckResult, "ok" | "attempts" | "target">;
