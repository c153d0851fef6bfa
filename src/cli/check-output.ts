// How check results read: a line a target for people, a JSON object a target for jq, and a summary.
import type { CheckResult, CheckState, CheckTarget, HttpInfo, TlsInfo } from "../check/result.ts";
import { redact, redactIn } from "../text/redact.ts";
import { escapeControl } from "../text/shown.ts";
import { hostPort } from "../transport/address.ts";
import type { Io } from "./io.ts";

/**
 * targetText is the TARGET as a URL, the form every line and record names it by: an HTTP target is its own URL, with
 * its password (if any) hidden. Every printer names targets through it.
 */
export function targetText(t: CheckTarget): string {
  return t.http ? redact(t.http.url) : `${t.transport}://${hostPort(t.host, t.port)}`;
}

/** protoOf is what was checked: a TCP or UDP port, or an HTTP(S) URL. */
export function protoOf(t: CheckTarget): "tcp" | "udp" | "http" | "https" {
  return t.http ? (t.http.secure ? "https" : "http") : t.transport;
}

/** roundMs keeps three decimals: microseconds are real on loopback, more is noise. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function replyText(reply: Uint8Array | undefined): string | null {
  return reply === undefined ? null : new TextDecoder().decode(reply);
}

/** jsonRecord is one result as the stable object `--json` prints. */
export function jsonRecord(r: CheckResult) {
  return {
    target: targetText(r.target),
    proto: protoOf(r.target),
    host: r.target.host,
    address: r.address ?? null,
    port: r.target.port,
    state: r.state,
    ok: r.ok,
    latency_ms: roundMs(r.latencyMs),
    reply: replyText(r.reply),
    error: r.error === undefined ? null : redactIn(r.error),
    attempts: r.attempts,
    ...(r.tls ? { tls: r.tls } : {}),
    ...(r.http ? { http: { ...r.http, location: r.http.location === null ? null : redact(r.http.location) } } : {}),
  };
}

const WORDS: Record<CheckState, string> = {
  open: "open",
  closed: "closed",
  unreachable: "unreachable",
  timeout: "timeout",
  no_reply: "no reply",
  mismatch: "mismatch",
  error: "error",
};

/** resultLine is one result for people: state, target, latency, and why. */
export function resultLine(r: CheckResult, io: Io, width: number): string {
  const c = io.outColor;
  const word = WORDS[r.state].padEnd(8);
  const state = r.ok ? c.green(word) : r.state === "no_reply" || r.state === "timeout" ? c.yellow(word) : c.red(word);
  const parts = [state, targetText(r.target).padEnd(width), c.dim(`${roundMs(r.latencyMs).toFixed(1).padStart(7)}ms`)];
  if (r.address && r.address !== r.target.host) parts.push(c.dim(`(${r.address})`));
  if (r.http?.status != null && r.ok) parts.push(httpText(r.http));
  if (r.tls)
    parts.push(escapeControl(`tls ${r.tls.protocol ?? ""} ${r.tls.subject}, ${daysText(r.tls)}`.replace(/ +/g, " ")));
  if (r.error) {
    const error = escapeControl(redactIn(r.error));
    parts.push(r.ok ? c.dim(error) : error);
  }
  if (r.reply && r.reply.length > 0 && (!r.error || r.state === "mismatch"))
    parts.push(c.dim(`"${escapeControl(clip(replyText(r.reply)!))}"`));
  if (r.attempts > 1) parts.push(c.dim(`after ${r.attempts} tries`));
  return parts.join("  ");
}

/** httpText is a response as people read it: 200 OK, and the redirects followed; the server's words escaped. */
export function httpText(h: HttpInfo): string {
  const reason = h.reason ? ` ${escapeControl(h.reason)}` : "";
  const redirects = h.redirects ? ` after ${h.redirects} redirect${h.redirects > 1 ? "s" : ""}` : "";
  return `${h.status}${reason}${redirects}`;
}

/** daysText says how long a certificate has, without ever printing NaN. */
export function daysText(tls: TlsInfo): string {
  if (tls.days_left === null || tls.valid_to === null) return "no expiry date";
  if (Date.parse(tls.valid_to) < Date.now()) return `expired on ${tls.valid_to}`;
  return `${tls.days_left} days left`;
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** summaryLine counts the results by state. */
export function summaryLine(results: readonly CheckResult[], elapsedMs: number): string {
  const counts = new Map<CheckState, number>();
  for (const r of results) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const passed = results.filter((r) => r.ok).length;
  const states = [...counts].map(([state, n]) => `${n} ${WORDS[state]}`).join(", ");
  const noun = results.length === 1 ? "target" : "targets";
  return `${passed} of ${results.length} ${noun} passed (${states}) in ${(elapsedMs / 1000).toFixed(2)}s`;
}
