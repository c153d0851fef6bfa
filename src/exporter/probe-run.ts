// One probe as the exporter runs it: the target planned with the module's options, judged by the gate, then checked
// by check's own runChecks, with a log of each step for debug=true.
import type { ProbeOptions } from "../check/probe.ts";
import type { CheckResult, CheckTarget } from "../check/result.ts";
import { unresolved } from "../check/outcomes.ts";
import { runChecks } from "../check/run.ts";
import { targetText } from "../check/report/target.ts";
import type { ProbeRun } from "./probe-metrics.ts";
import { type TargetGate, TargetRefused } from "./target-gate.ts";

/** PlannedProbe is one target with the probe its module asks for: what check's planner makes of a target line. */
export interface PlannedProbe {
  readonly target: CheckTarget;
  readonly probe: ProbeOptions;
  readonly udpSilentOk: boolean;
}

/** ProbeLog collects what a probe did, a line a step, for debug=true. */
export class ProbeLog {
  private readonly started = performance.now();
  readonly lines: string[] = [];

  add(message: string, fields: Record<string, string | number | undefined> = {}): void {
    const at = ((performance.now() - this.started) / 1000).toFixed(6);
    const rest = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    this.lines.push([`elapsed=${at}s`, `msg=${JSON.stringify(message)}`, ...rest].join(" "));
  }
}

/**
 * runProbe admits the target through the gate (a TargetRefused is thrown before anything is sent), then checks it
 * once, with no retry: Prometheus's next scrape is the retry.
 */
export async function runProbe(
  planned: PlannedProbe,
  gate: TargetGate,
  timeoutMs: number,
  log: ProbeLog,
): Promise<Omit<ProbeRun, "regex">> {
  const started = performance.now();
  const { target } = planned;
  log.add("Beginning probe", { target: targetText(target), timeout: `${timeoutMs}ms` });
  const admitted = await gate.admit(target.host);
  log.add("Resolved target address", {
    host: target.host,
    addresses: admitted.addresses.join(","),
    lookup: `${admitted.lookupMs.toFixed(3)}ms`,
    error: admitted.unresolved?.reason,
  });
  let result: CheckResult;
  if (admitted.unresolved) {
    result = { target, ...unresolved(admitted.unresolved, started), ok: false, attempts: 1 };
  } else {
    const probe = { ...planned.probe, timeoutMs };
    [result] = (await runChecks([target], {
      ...probe,
      concurrency: 1,
      retries: 0,
      udpSilentOk: planned.udpSilentOk,
    })) as [CheckResult];
  }
  // The check resolved the name itself: an answer that changed since the gate's lookup is refused, not reported.
  if (result.address !== undefined && !gate.reached(target.host, result.address)) {
    log.add("Refused the address the check reached", { host: target.host, address: result.address });
    throw new TargetRefused(`${target.host} (${result.address}) is not an allowed target`);
  }
  const durationMs = performance.now() - started;
  log.add("Check finished", {
    state: result.state,
    cause: result.cause,
    address: result.address,
    latency: `${result.latencyMs.toFixed(3)}ms`,
    http_status: result.http?.status ?? undefined,
    tls_subject: result.tls?.subject,
    tls_valid_to: result.tls?.valid_to ?? undefined,
    error: result.error,
  });
  log.add(result.ok ? "Probe succeeded" : "Probe failed", { duration_seconds: durationMs / 1000 });
  return { result, durationMs, lookupMs: admitted.lookupMs };
}
