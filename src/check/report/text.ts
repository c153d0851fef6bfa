// How check results read to people: a line a target, the --wait progress line, and the summary.
import type { CheckResult, CheckState, HttpInfo, TlsInfo } from "../result.ts";
import type { Progress } from "../run.ts";
import { redactIn } from "../../text/redact.ts";
import { escapeControl } from "../../text/shown.ts";
import { clipReply, replyText, roundMs, targetText } from "./target.ts";

/** Palette is the colours a line is painted with: picocolors' own, or ones that leave the text as it is. */
export interface Palette {
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  dim(text: string): string;
}

const WORDS: Record<CheckState, string> = {
  open: "open",
  closed: "closed",
  unreachable: "unreachable",
  timeout: "timeout",
  no_reply: "no reply",
  mismatch: "mismatch",
  not_ready: "not ready",
  error: "error",
};

/** resultLine is one result for people: state, target, latency, and why; `to` is where it goes, for its colours. */
export function resultLine(r: CheckResult, to: { readonly outColor: Palette }, width: number): string {
  const c = to.outColor;
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
    parts.push(c.dim(`"${escapeControl(clip(r.reply))}"`));
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

/** clip is the start of a reply, as text: bytes that are not UTF-8 as \xNN (never U+FFFD), cut at 60 characters. */
function clip(reply: Uint8Array): string {
  const { text, clipped } = clipReply(replyText(reply), 60);
  return clipped ? `${text}…` : text;
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

/** progressLine is --wait's live line on a terminal: the time gone, how many are up (or down), who is awaited. */
export function progressLine(g: Progress, down = false): string {
  const names = g.waiting.slice(0, 3).map(targetText).join(", ");
  const more = g.waiting.length > 3 ? ` and ${g.waiting.length - 3} more` : "";
  return (
    `${(g.elapsedMs / 1000).toFixed(1)}s  ${g.passed}/${g.total} ` +
    `${down ? "down" : "up"}${names ? `, waiting for ${names}${more}` : ""}`
  );
}
