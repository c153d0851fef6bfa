// One probe's answer to Prometheus, under Blackbox's metric names where the meaning is the same, and upcat's own.
import { type CheckResult, STATES } from "../check/result.ts";
import { ipVersion } from "../transport/ip.ts";
import { redactIn } from "../text/redact.ts";
import { type Family, labelText } from "./exposition.ts";

/** ProbeRun is what one probe found, with what the exporter measured around the check. */
export interface ProbeRun {
  readonly result: CheckResult;
  readonly durationMs: number;
  readonly lookupMs: number;
  /** regex: the module asked something of the reply (--expect, --match...), so a mismatch is the regex's. */
  readonly regex: boolean;
}

const gauge = (name: string, help: string, samples: Family["samples"]): Family => ({
  name,
  help,
  type: "gauge",
  samples,
});

/** tlsVersion is a TLS protocol as Blackbox names it: TLSv1.3 → TLS 1.3. */
function tlsVersion(protocol: string): string {
  const m = /^TLSv(\d(?:\.\d)?)$/.exec(protocol);
  return m ? `TLS ${m[1]}` : protocol;
}

/** probeFamilies are a probe's series: Blackbox's where they mean the same, then upcat's state and reason. */
export function probeFamilies(run: ProbeRun): Family[] {
  const r = run.result;
  const http = r.target.http !== undefined;
  const version = r.address ? ipVersion(r.address) : 0;
  const reason = r.error ?? (r.ok ? "" : r.state);
  return [
    gauge("probe_dns_lookup_time_seconds", "Returns the time taken for probe dns lookup in seconds", [
      { value: run.lookupMs / 1000 },
    ]),
    gauge("probe_duration_seconds", "Returns how long the probe took to complete in seconds", [
      { value: run.durationMs / 1000 },
    ]),
    gauge(
      "probe_failed_due_to_regex",
      "Indicates if probe failed due to regex",
      http || run.regex ? [{ value: run.regex && r.cause === "mismatch" ? 1 : 0 }] : [],
    ),
    gauge("probe_http_ssl", "Indicates if SSL was used for the final redirect", http ? [{ value: r.tls ? 1 : 0 }] : []),
    gauge("probe_http_status_code", "Response HTTP status code", http ? [{ value: r.http?.status ?? 0 }] : []),
    gauge("probe_ip_protocol", "Specifies whether probe ip protocol is IP4 or IP6", [{ value: version }]),
    gauge(
      "probe_ssl_earliest_cert_expiry",
      "Returns earliest SSL cert expiry in unixtime",
      r.tls?.valid_to ? [{ value: Date.parse(r.tls.valid_to) / 1000 }] : [],
    ),
    gauge(
      "probe_tls_version_info",
      "Contains the TLS version used",
      r.tls?.protocol ? [{ labels: { version: labelText(tlsVersion(r.tls.protocol)) }, value: 1 }] : [],
    ),
    gauge("probe_success", "Displays whether or not the probe was a success", [{ value: r.ok ? 1 : 0 }]),
    gauge(
      "upcat_check_state",
      "The state upcat check's try ended in: 1 for that state, 0 for the others",
      STATES.map((s) => ({ labels: { state: s }, value: r.state === s ? 1 : 0 })),
    ),
    gauge("upcat_check_info", "Why the check ended as it did, in its state, cause and words; always 1", [
      { labels: { state: r.state, cause: r.cause ?? "", reason: labelText(redactIn(reason)) }, value: 1 },
    ]),
  ];
}
