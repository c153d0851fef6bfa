// A real Prometheus on loopback, configured with the README's scrape config and alert rule, drives upcat exporter:
// its HTTP API returns probe_success for every target, and the rule is evaluated over it.
import type { Subprocess, TCPSocketListener } from "bun";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, requireTool, waitForListening } from "../support/peers.ts";
import { waitFor } from "../support/wait.ts";
import { type Exporter, type Started, startServing, startUpcat, talk } from "./exporters.ts";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** yamlBlock is the README's yaml block that holds `marker`. */
function yamlBlock(marker: string): string {
  const block = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes(marker));
  if (!block) throw new Error(`README.md has no yaml block with ${marker}`);
  return block;
}

/** OUTSIDE is a target --allow-target 127.0.0.1 does not admit: the exporter answers 403, a failed scrape. */
const OUTSIDE = "127.0.0.2:22";
const dir = mkdtempSync(join(tmpdir(), "upcat-prometheus-"));
let upcat: Exporter;
let prometheus: Subprocess;
let api: string;
let open: TCPSocketListener;
let refused: number;
let serving: Started;

beforeAll(async () => {
  const bin = requireTool("prometheus");
  open = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  refused = await freePort();
  [upcat, serving] = await Promise.all([
    startUpcat(["--allow-target", "127.0.0.1"]),
    startServing(["serve", "--tcp", "--host", "127.0.0.1", "--port", "0", "--metrics", "127.0.0.1:0"]),
  ]);
  const exporter = `127.0.0.1:${upcat.port}`;
  // The README's blocks as written, pointed at this exporter and these targets, scraped every second.
  const scrape = yamlBlock("job_name: upcat-probe")
    .replaceAll("upcat-exporter:9115", exporter)
    .replace(
      '["db.internal:5432", "cache.internal:6379"]',
      `["127.0.0.1:${open.port}", "127.0.0.1:${refused}", "${OUTSIDE}"]`,
    );
  const global = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n";
  const serve = yamlBlock("job_name: upcat-serve").replace(
    '["echo-1.internal:9100", "echo-2.internal:9100"]',
    `["${new URL(serving.metrics).host}"]`,
  );
  const config = `${global}rule_files: [rules.yml]\n${scrape}${serve}`;
  writeFileSync(join(dir, "prometheus.yml"), config);
  writeFileSync(join(dir, "rules.yml"), yamlBlock("alert: ProbeFailing"));
  const port = await freePort();
  api = `http://127.0.0.1:${port}/api/v1`;
  prometheus = Bun.spawn(
    [
      bin,
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
  );
  await waitForListening("tcp", port, 15_000);
}, 30_000);

afterAll(async () => {
  prometheus?.kill("SIGTERM");
  serving?.proc.kill("SIGTERM");
  open?.stop(true);
  await upcat?.stop();
});

/** query asks Prometheus's HTTP API for an instant vector: each series' labels and value. */
async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${api}/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(5000) });
  const body = (await r.json()) as { status: string; data: { result: [] } };
  return body.status === "success" ? body.data.result : [];
}

test("promtool passes the README's scrape config and alert rule", () => {
  const promtool = requireTool("promtool");
  const check = (...args: string[]) => Bun.spawnSync([promtool, "check", ...args], { timeout: 10_000 });
  const config = check("config", "--syntax-only", join(dir, "prometheus.yml"));
  expect({ status: config.exitCode, said: `${config.stderr}` }).toEqual({ status: 0, said: "" });
  expect(check("rules", join(dir, "rules.yml")).exitCode).toBe(0);
});

test("Prometheus scrapes upcat exporter through the README's relabelling: probe_success a target", async () => {
  const wanted = { [`127.0.0.1:${open.port}`]: "1", [`127.0.0.1:${refused}`]: "0" };
  let seen: Record<string, string> = {};
  await waitFor(
    "probe_success of both targets from Prometheus's API",
    async () => {
      const result = await query('probe_success{job="upcat-probe"}');
      seen = Object.fromEntries(result.map((r) => [r.metric.instance!, r.value[1]]));
      return Object.keys(seen).length === 2;
    },
    20_000,
  );
  expect(seen).toEqual(wanted);
  // The instance label is the target, the exporter the one scraped, and the exporter's own job is up.
  let up: Awaited<ReturnType<typeof query>> = [];
  await waitFor(
    "the exporter's own job scraped",
    async () => (up = await query('up{job="upcat-exporter"}')).length > 0,
  );
  expect(up.map((r) => r.value[1])).toEqual(["1"]);
  const state = await query(`upcat_check_state{instance="127.0.0.1:${refused}",state="closed"}`);
  expect(state.map((r) => r.value[1])).toEqual(["1"]);
  // Its own counters, once a scrape of /metrics has followed a probe.
  await waitFor("the exporter's own probe count", async () => {
    const probes = await query('sum(upcat_exporter_probes_total{job="upcat-exporter",module="tcp"})');
    return Number(probes[0]?.value[1]) >= 2;
  });
}, 30_000);

test("Prometheus scrapes serve --metrics with the README's job: the server's counters by name", async () => {
  expect(await talk(serving.port, "count me\n")).toBe("COUNT ME\n");
  await waitFor(
    "upcat_server_connections_total from Prometheus's API",
    async () => {
      const r = await query('upcat_server_connections_total{job="upcat-serve"}');
      return r.length === 1 && r[0]!.value[1] === "1";
    },
    20_000,
  );
  const bytes = await query('upcat_server_bytes_out_total{job="upcat-serve"}');
  expect(bytes.map((r) => r.value[1])).toEqual(["9"]);
}, 30_000);

test("the README's alert rules: ProbeFailing for the refused target, ProbeNotRun for the 403", async () => {
  let alerts: { labels: Record<string, string>; state: string }[] = [];
  await waitFor(
    "both alerts from Prometheus's API",
    async () => {
      const r = await fetch(`${api}/alerts`, { signal: AbortSignal.timeout(5000) });
      alerts = ((await r.json()) as { data: { alerts: typeof alerts } }).data.alerts;
      return alerts.length >= 2;
    },
    20_000,
  );
  const seen = alerts.map((a) => [a.labels.alertname, a.labels.instance, a.state]).sort();
  expect(seen).toEqual([
    ["ProbeFailing", `127.0.0.1:${refused}`, "pending"],
    ["ProbeNotRun", OUTSIDE, "pending"],
  ]);
  // The 403 is a failed scrape: no probe_success for it at all.
  expect(await query(`probe_success{instance="${OUTSIDE}"}`)).toEqual([]);
}, 30_000);

test("the README's Kubernetes Deployment parses, and its container's arguments start the exporter", async () => {
  const [deployment, service] = Bun.YAML.parse(yamlBlock("kind: Deployment")) as {
    kind: string;
    spec: { template: { spec: { containers: { args: string[]; readinessProbe: { httpGet: { path: string } } }[] } } };
  }[];
  expect([deployment!.kind, service!.kind]).toEqual(["Deployment", "Service"]);
  const container = deployment!.spec.template.spec.containers[0]!;
  expect(container.readinessProbe.httpGet.path).toBe("/metrics");
  const [command, ...args] = container.args;
  expect(command).toBe("exporter");
  // As written, but on a free loopback port, with a modules file of its own.
  writeFileSync(join(dir, "modules.txt"), "redis_ping: --send 'PING\\r\\n' --expect +PONG\n");
  const listen = args.indexOf("--listen");
  args.splice(listen, 2);
  args[args.indexOf("--config") + 1] = join(dir, "modules.txt");
  const started = await startUpcat(args);
  try {
    const metrics = await fetch(`${started.base}/metrics`, { signal: AbortSignal.timeout(5000) });
    expect(metrics.status).toBe(200);
  } finally {
    expect(await started.stop()).toBe(0);
  }
});
