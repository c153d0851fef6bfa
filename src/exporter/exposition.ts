// Prometheus' text exposition format, the little of it the exporter writes: gauges and counters with HELP and TYPE.
import { escapeLabel } from "../check/report/prometheus.ts";
import { cut, escapeControl } from "../text/shown.ts";

/** Sample is one series of a family: its labels and value. */
export interface Sample {
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Family is one metric: its name, help, type and samples. A family with no samples is left out. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "gauge" | "counter";
  readonly samples: readonly Sample[];
}

/** MAX_LABEL is the most characters of a label value a peer controls (a reason, a TLS version): a line, not a page. */
export const MAX_LABEL = 200;

/** labelText is text a peer or a user controls, as a label value: cut, control characters escaped, then quoted. */
export function labelText(text: string): string {
  return escapeControl(cut(text, MAX_LABEL));
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

/** exposition writes the families in the text format, each with its HELP and TYPE lines. */
export function exposition(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (family.samples.length === 0) continue;
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels ?? {});
      const text = labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
      lines.push(`${family.name}${text} ${formatValue(sample.value)}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
