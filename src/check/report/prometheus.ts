// The results in Prometheus' text exposition format, for node_exporter's textfile collector: gauges a target, labelled
// by it.
import { type CheckResult, type CheckTarget, STATES } from "../result.ts";
import { protoOf } from "./target.ts";

/** targetName is how a target is named in labels and lines: its URL, or transport://host:port. */
export type TargetName = (t: CheckTarget) => string;

interface Family {
  name: string;
  help: string;
  /** value is a target's sample, or undefined when it has none (no certificate, no HTTP status). */
  samples(r: CheckResult): { extra?: Record<string, string>; value: number }[];
}

const FAMILIES: Family[] = [
  {
    name: "upcat_check_up",
    help: "Whether the target passed its check (1) or not (0).",
    samples: (r) => [{ value: r.ok ? 1 : 0 }],
  },
  {
    name: "upcat_check_latency_seconds",
    help: "Connect (TCP), round-trip (UDP) or request (HTTP) time of the last try, or how long it took to fail.",
    samples: (r) => [{ value: r.latencyMs / 1000 }],
  },
  {
    name: "upcat_check_state",
    help: "The state the target's last try ended in: 1 for that state, 0 for the others.",
    // A 0/1 series a state for each target: an enum, as kube-state-metrics does it.
    samples: (r) => STATES.map((s) => ({ extra: { state: s }, value: r.state === s ? 1 : 0 })),
  },
  {
    name: "upcat_check_attempts",
    help: "Tries made before the verdict (--retries, --wait).",
    samples: (r) => [{ value: r.attempts }],
  },
  {
    name: "upcat_check_tls_cert_expiry_timestamp_seconds",
    help: "When the TLS certificate the target presented expires (notAfter), in seconds since 1970.",
    samples: (r) => (r.tls?.valid_to ? [{ value: Date.parse(r.tls.valid_to) / 1000 }] : []),
  },
  {
    name: "upcat_check_http_status_code",
    help: "The HTTP status of the last response (after redirects under --follow).",
    samples: (r) => (r.http?.status != null ? [{ value: r.http.status }] : []),
  },
];

/** escapeLabel escapes a label value as the exposition format requires: backslash, double quote and newline. */
export function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

/**
 * prometheusText renders every result as gauges labelled target, proto, host and port. A target given
 * twice (with different options) gets nth="2" on its second series, as a file with two identical
 * series is refused whole by the textfile collector.
 */
export function prometheusText(results: readonly CheckResult[], name: TargetName): string {
  const seen = new Map<string, number>();
  const labels = results.map((r) => {
    const t = r.target;
    const base: Record<string, string> = {
      target: name(t),
      proto: protoOf(t),
      host: t.host,
      port: String(t.port),
    };
    const key = JSON.stringify(base);
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return n > 1 ? { ...base, nth: String(n) } : base;
  });
  const lines: string[] = [];
  for (const family of FAMILIES) {
    const rows: string[] = [];
    results.forEach((r, i) => {
      for (const sample of family.samples(r)) {
        const all = { ...labels[i], ...sample.extra };
        const text = Object.entries(all)
          .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
          .join(",");
        rows.push(`${family.name}{${text}} ${formatValue(sample.value)}`);
      }
    });
    if (rows.length === 0) continue;
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} gauge`, ...rows);
  }
  return `${lines.join("\n")}\n`;
}
