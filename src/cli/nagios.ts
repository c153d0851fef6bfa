// The monitoring-plugin conventions (Nagios, Icinga): one status line with perfdata, and 0/1/2/3 for OK/WARNING/CRITICAL/UNKNOWN.
import type { CheckResult } from "../check/result.ts";
import { roundMs, targetText } from "./check-output.ts";

export const NAGIOS = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
export type NagiosStatus = keyof typeof NAGIOS;

export interface Thresholds {
  warningMs?: number;
  criticalMs?: number;
  timeoutMs: number;
}

/**
 * statusOf grades one result as check_tcp does: an unexpected reply is WARNING, any other failure
 * (an unknown host too) CRITICAL, a pass slower than a threshold WARNING or CRITICAL.
 */
export function statusOf(r: CheckResult, t: Thresholds): NagiosStatus {
  if (!r.ok) return r.state === "mismatch" ? "WARNING" : "CRITICAL";
  if (t.criticalMs !== undefined && r.latencyMs > t.criticalMs) return "CRITICAL";
  if (t.warningMs !== undefined && r.latencyMs > t.warningMs) return "WARNING";
  return "OK";
}

const ORDER: NagiosStatus[] = ["OK", "WARNING", "UNKNOWN", "CRITICAL"];

/** nagiosReport is the plugin output for all results and the status to exit with. */
export function nagiosReport(results: readonly CheckResult[], t: Thresholds): { line: string; status: number } {
  const graded = results.map((r) => ({ r, status: statusOf(r, t) }));
  const worst = graded.reduce<NagiosStatus>((w, g) => (ORDER.indexOf(g.status) > ORDER.indexOf(w) ? g.status : w), "OK");
  const label = results.every((r) => r.target.transport === "udp") ? "UDP" : results.every((r) => r.target.transport === "tcp") ? "TCP" : "UPCAT";
  let message: string;
  if (results.length === 1) {
    const r = results[0]!;
    message = r.ok
      ? `${(r.latencyMs / 1000).toFixed(3)} second response time on ${r.address ?? r.target.host} port ${r.target.port}${r.reply?.length ? ` [${firstLine(r.reply)}]` : ""}${r.tls ? `, certificate ${r.tls.subject} expires in ${r.tls.days_left} days` : ""}`
      : `${targetText(r.target)} ${r.state}: ${r.error ?? r.state}`;
  } else {
    const bad = graded.filter((g) => g.status !== "OK");
    const slowest = Math.max(...results.map((r) => r.latencyMs));
    message = `${results.length - bad.length} of ${results.length} OK, slowest ${(slowest / 1000).toFixed(3)} s`;
    if (bad.length > 0) message += `; ${bad.slice(0, 5).map(({ r, status }) => `${targetText(r.target)} ${r.ok ? `${status.toLowerCase()} ${(r.latencyMs / 1000).toFixed(3)} s` : `${r.state}: ${r.error ?? r.state}`}`).join(", ")}${bad.length > 5 ? `, and ${bad.length - 5} more` : ""}`;
  }
  const perf = results
    .filter((r) => r.ok)
    .map((r) => `${results.length === 1 ? "time" : `'${targetText(r.target).replaceAll("'", "")}'`}=${seconds(r.latencyMs)}s;${seconds(t.warningMs)};${seconds(t.criticalMs)};0.000000;${seconds(t.timeoutMs)}`);
  return { line: `${label} ${worst} - ${message}${perf.length ? `|${perf.join(" ")}` : ""}`, status: NAGIOS[worst] };
}

/** firstLine is the start of a reply as check_tcp shows it: one line, no control characters. */
function firstLine(reply: Uint8Array): string {
  return new TextDecoder().decode(reply.subarray(0, 200)).split(/\r?\n/)[0]!.replace(/[\x00-\x1f|]/g, "?");
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? "" : (roundMs(ms) / 1000).toFixed(6);
}
