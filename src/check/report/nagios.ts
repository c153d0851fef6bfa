// The monitoring-plugin conventions (Nagios, Icinga): one status line with perfdata, and 0/1/2/3 for
// OK/WARNING/CRITICAL/UNKNOWN.
import type { CheckResult } from "../result.ts";
import { redactIn } from "../../text/redact.ts";
import { escapeControl } from "../../text/shown.ts";
import { clipReply, protoOf, replyText, targetText } from "./target.ts";
import { daysText, httpText } from "./text.ts";

export const NAGIOS = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
export type NagiosStatus = keyof typeof NAGIOS;

/** Thresholds are one target's --warning, --critical and --timeout, in milliseconds. */
export interface Thresholds {
  warningMs?: number;
  criticalMs?: number;
  timeoutMs: number;
  /** statusGiven: --status was given for this HTTP target, as check_http -e, which makes any other status CRITICAL. */
  statusGiven?: boolean;
}

/**
 * statusOf grades one result as check_tcp does: a reply that came but did not match is WARNING, or
 * CRITICAL when it came later than --critical; a certificate inside the warning --cert-days is
 * WARNING; any other failure (no data, a reset, an unknown host, no TLS) is CRITICAL; a pass slower
 * than a threshold is WARNING or CRITICAL. An HTTP target is graded as check_http grades it: a status
 * outside the default 2xx is WARNING, or CRITICAL from 500 up; one outside a --status given is
 * CRITICAL (check_http -e); a body without the wanted text is CRITICAL.
 * The grade comes from the cause code, never the message.
 */
export function statusOf(r: CheckResult, t: Thresholds): NagiosStatus {
  const slower = (ms: number | undefined) => ms !== undefined && r.latencyMs > ms;
  if (!r.ok && r.target.http) {
    if (r.cause === "http_status") return t.statusGiven || (r.http?.status ?? 500) >= 500 ? "CRITICAL" : "WARNING";
    if (r.cause === "cert_warning") return "WARNING";
    return "CRITICAL";
  }
  if (!r.ok) {
    if (r.cause === "mismatch") return slower(t.criticalMs) ? "CRITICAL" : "WARNING";
    if (r.cause === "cert_warning") return "WARNING";
    return "CRITICAL";
  }
  if (slower(t.criticalMs)) return "CRITICAL";
  if (slower(t.warningMs)) return "WARNING";
  return "OK";
}

const ORDER: NagiosStatus[] = ["OK", "WARNING", "UNKNOWN", "CRITICAL"];

/** nagiosReport is the plugin output for all results (each with its own thresholds) and the status to exit with. */
export function nagiosReport(
  results: readonly CheckResult[],
  thresholds: readonly Thresholds[],
): { line: string; status: number } {
  const graded = results.map((r, i) => ({ r, t: thresholds[i]!, status: statusOf(r, thresholds[i]!) }));
  const worst = graded.reduce<NagiosStatus>(
    (w, g) => (ORDER.indexOf(g.status) > ORDER.indexOf(w) ? g.status : w),
    "OK",
  );
  // The plugin's name, as check_tcp, check_http, check_smtp or check_dig print theirs: one kind of target, or UPCAT.
  const kindOf = (r: CheckResult) =>
    protoOf(r.target)
      .replace(/^https$/, "http")
      .toUpperCase();
  const kinds = new Set(results.map(kindOf));
  const label = kinds.size === 1 ? [...kinds][0]! : "UPCAT";
  let message: string;
  if (results.length === 1) {
    const r = results[0]!;
    // Under --down a pass is a port that refused: there is no response time to speak of.
    message =
      r.ok && r.state !== "open" && r.state !== "no_reply"
        ? `${targetText(r.target)} ${r.state}, as --down wants (${errorText(r.error ?? r.state)})`
        : r.ok
          ? passed(r)
          : failure(r);
  } else {
    const bad = graded.filter((g) => g.status !== "OK");
    const slowest = Math.max(...results.map((r) => r.latencyMs));
    message = `${results.length - bad.length} of ${results.length} OK, slowest ${(slowest / 1000).toFixed(3)} s`;
    if (bad.length > 0)
      message += `; ${bad
        .slice(0, 5)
        .map(({ r, status }) =>
          r.ok ? `${targetText(r.target)} ${status.toLowerCase()} ${(r.latencyMs / 1000).toFixed(3)} s` : failure(r),
        )
        .join(", ")}${bad.length > 5 ? `, and ${bad.length - 5} more` : ""}`;
  }
  // Every target gets its time, failed ones too: a graph with holes at the outages hides them.
  const labels = perfLabels(results);
  const perf = graded.map(({ r, t }, i) => {
    const label = labels[i]!;
    const range = `${seconds(t.warningMs)};${seconds(t.criticalMs)};0.000000;${seconds(t.timeoutMs)}`;
    return `${label}=${seconds(r.latencyMs)}s;${range}`;
  });
  return { line: `${label} ${worst} - ${message}|${perf.join(" ")}`, status: NAGIOS[worst] };
}

/**
 * perfLabels names each result's perfdata: "time" for one target, else the target as a quoted label; a label given
 * before gets " #2", " #3"... (the first free one), as prometheus' nth tells two checks of one target apart: a graph
 * keyed by label would otherwise draw both as one. A label cannot hold ' or =, so they are left out.
 */
export function perfLabels(results: readonly CheckResult[]): string[] {
  if (results.length === 1) return ["time"];
  const used = new Set<string>();
  return results.map((r) => {
    const base = targetText(r.target).replaceAll("'", "").replaceAll("=", "");
    let label = base;
    for (let n = 2; used.has(label); n++) label = `${base} #${n}`;
    used.add(label);
    return `'${label}'`;
  });
}

/** passed words one target that passed, as check_tcp and check_http word it. */
function passed(r: CheckResult): string {
  const status = r.http?.status != null ? `${httpText(r.http).replaceAll("|", "/")} - ` : "";
  const time = `${(r.latencyMs / 1000).toFixed(3)} second response time`;
  const reply = r.reply?.length ? ` [${firstLine(r.reply)}]` : "";
  return `${status}${time} on ${r.address ?? r.target.host} port ${r.target.port}${reply}${certificate(r)}`;
}

/** failure words one failed target, with the reply that came, as check_tcp shows it ("Unexpected response"). */
function failure(r: CheckResult): string {
  // Only --down fails a target that answered.
  if (r.state === "open") return `${targetText(r.target)} is open, and --down wants it closed`;
  const reply = r.reply?.length ? `: ${firstLine(r.reply)}` : "";
  if (r.cause === "mismatch" && !r.target.http) return `Unexpected response from ${targetText(r.target)}${reply}`;
  return `${targetText(r.target)} ${r.state}: ` + `${errorText(r.error ?? r.state)}${r.state === "error" ? reply : ""}`;
}

/** errorText is why a target failed as a plugin line carries it: no secret, no control character, no pipe. */
function errorText(error: string): string {
  return escapeControl(redactIn(error)).replaceAll("|", "/");
}

function certificate(r: CheckResult): string {
  return r.tls ? `, certificate ${escapeControl(r.tls.subject).replaceAll("|", "/")} ${daysText(r.tls)}` : "";
}

/**
 * firstLine is the start of a reply as check_tcp shows it: one line, a pipe as "?" (perfdata starts at the first), its
 * control characters escaped.
 */
function firstLine(reply: Uint8Array): string {
  // Bytes that are not UTF-8 are shown as \xNN, never as U+FFFD; cut after the escaping, never inside an escape.
  const shown = replyText(reply);
  const line = { ...shown, text: shown.text.split(/\r?\n/)[0]! };
  return escapeControl(clipReply(line, 200).text).replaceAll("|", "?");
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? "" : (ms / 1000).toFixed(6);
}
