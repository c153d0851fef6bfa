// The exporter's own counters, for its /metrics: probes by module and result, probes in flight, requests refused.
import type { Family } from "./exposition.ts";

/** Refusal is why a request got no probe: each is counted on its own. */
export type Refusal = "bad_request" | "not_allowed" | "too_many" | "too_large" | "not_found" | "method";

const REFUSALS: readonly Refusal[] = ["bad_request", "not_allowed", "too_many", "too_large", "not_found", "method"];

/** ExporterCounters counts what the exporter did; module labels are only the modules it knows, so they stay few. */
export class ExporterCounters {
  private readonly probes = new Map<string, { module: string; result: string; count: number }>();
  private readonly refused = new Map<Refusal, number>(REFUSALS.map((r) => [r, 0]));
  private readonly durations = new Map<string, { module: string; sum: number }>();
  inFlight = 0;
  /** lastReloadOk: whether the last SIGHUP read --config (1 before any), as Blackbox's config_last_reload_successful */
  private lastReloadOk = true;
  private readonly reloads = { success: 0, failure: 0 };

  reloaded(ok: boolean): void {
    this.lastReloadOk = ok;
    this.reloads[ok ? "success" : "failure"]++;
  }

  probed(module: string, ok: boolean, seconds: number): void {
    const result = ok ? "success" : "failure";
    const key = `${module}\0${result}`;
    const row = this.probes.get(key) ?? { module, result, count: 0 };
    row.count++;
    this.probes.set(key, row);
    const time = this.durations.get(module) ?? { module, sum: 0 };
    time.sum += seconds;
    this.durations.set(module, time);
  }

  refuse(reason: Refusal): void {
    this.refused.set(reason, this.refused.get(reason)! + 1);
  }

  families(maxConcurrent: number): Family[] {
    return [
      {
        name: "upcat_exporter_probes_total",
        help: "Probes run, by module and result (success or failure)",
        type: "counter",
        samples: [...this.probes.values()].map((p) => ({
          labels: { module: p.module, result: p.result },
          value: p.count,
        })),
      },
      {
        name: "upcat_exporter_probe_seconds_total",
        help: "Time spent probing, by module",
        type: "counter",
        samples: [...this.durations.values()].map((d) => ({ labels: { module: d.module }, value: d.sum })),
      },
      {
        name: "upcat_exporter_probes_in_flight",
        help: "Probes running now",
        type: "gauge",
        samples: [{ value: this.inFlight }],
      },
      {
        name: "upcat_exporter_max_concurrent",
        help: "Probes that may run at once (--max-concurrent); past it a probe is answered 503",
        type: "gauge",
        samples: [{ value: maxConcurrent }],
      },
      {
        name: "upcat_exporter_config_last_reload_successful",
        help: "Whether the last SIGHUP read --config (1 before any)",
        type: "gauge",
        samples: [{ value: this.lastReloadOk ? 1 : 0 }],
      },
      {
        name: "upcat_exporter_config_reloads_total",
        help: "SIGHUPs that read --config again, by result",
        type: "counter",
        samples: Object.entries(this.reloads).map(([result, value]) => ({ labels: { result }, value })),
      },
      {
        name: "upcat_exporter_requests_refused_total",
        help: "Requests answered without a probe, by reason",
        type: "counter",
        samples: [...this.refused].map(([reason, count]) => ({ labels: { reason }, value: count })),
      },
    ];
  }
}
