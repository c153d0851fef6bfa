// How every report names a target and rounds its time: one URL a target, wherever it is printed.
import type { CheckTarget } from "../result.ts";
import type { ServiceKind } from "../services/endpoint.ts";
import { redact } from "../../text/redact.ts";
import { hostPort } from "../../transport/address.ts";

/**
 * targetText is the TARGET as a URL, the form every line and record names it by: an HTTP target is its own URL, with
 * its password (if any) hidden. Every printer names targets through it.
 */
export function targetText(t: CheckTarget): string {
  if (t.service) return t.service.url;
  return t.http ? redact(t.http.url) : `${t.transport}://${hostPort(t.host, t.port)}`;
}

/** protoOf is what was checked: a TCP or UDP port, an HTTP(S) URL, or a service by its name (postgres, dns...). */
export function protoOf(t: CheckTarget): "tcp" | "udp" | "http" | "https" | ServiceKind {
  if (t.service) return t.service.kind;
  return t.http ? (t.http.secure ? "https" : "http") : t.transport;
}

/** roundMs keeps three decimals: microseconds are real on loopback, more is noise. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
