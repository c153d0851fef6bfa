// The compiled binary as fleets and containers run it (issue 13): --prometheus scraped through node_exporter's textfile
// collector, --json against its own --schema, -- CMD with no shell.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonRecords } from "../check/json-records.ts";
import { startHttpPeer, type HttpPeer } from "../check/http-peers.ts";
import { compiled } from "../support/binary.ts";
import { freePort } from "../support/peers.ts";
import { run, type Command } from "../support/run.ts";
import { daysFromNow, makeCertificate, type Certificate } from "../verdicts/pki.ts";
import { need, startTlsServer, type Running } from "../verdicts/servers.ts";
import { re } from "../support/re.ts";

let cmd: Command;
let web: HttpPeer;
let tls: Running;
let cert: Certificate;
let tcp: { port: number; stop(closeActive?: boolean): void };
let closed: number;
const dir = mkdtempSync(join(tmpdir(), "upcat-fleet-e2e-"));

beforeAll(async () => {
  cmd = await compiled();
  cert = makeCertificate(dir, "localhost", daysFromNow(-1), daysFromNow(30));
  [web, tls] = await Promise.all([startHttpPeer(), startTlsServer(cert)]);
  tcp = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  closed = await freePort();
}, 120_000);
afterAll(() => {
  web?.stop();
  tls?.stop();
  tcp?.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

const targets = () => [
  `127.0.0.1:${tcp.port}`,
  `127.0.0.1:${closed}`,
  `${web.base}/status/503`,
  `https://localhost:${tls.port}/`,
  "--ca",
  cert.cert,
];

/** scrape fetches node_exporter's /metrics, polling until it answers (it starts in well under a second). */
async function scrape(port: number, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { proxy: false } as RequestInit);
      if (res.ok) return await res.text();
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`node_exporter did not answer on 127.0.0.1:${port} within ${ms}ms`);
    await Bun.sleep(50);
  }
}

test("--prometheus written where node_exporter's textfile collector reads: a scrape on loopback returns upcat's " +
  "series", async () => {
  const exporter = need("prometheus-node-exporter", "prometheus-node-exporter");
  const textfiles = join(dir, "textfile");
  mkdirSync(textfiles);
  const r = await run(cmd, ["check", "--prometheus", ...targets()]);
  expect(r.status).toBe(1);
  expect(r.stderr).toBe("");
  const promtool = Bun.spawn([need("promtool", "prometheus"), "check", "metrics"], {
    stdin: new Blob([r.stdout]),
    stdout: "pipe",
    stderr: "pipe",
  });
  expect({
    status: await promtool.exited,
    lint: (await new Response(promtool.stdout).text()) + (await new Response(promtool.stderr).text()),
  }).toEqual({ status: 0, lint: "" });
  // As the textfile collector's docs ask: write aside, then rename, so a scrape never reads half a file.
  writeFileSync(join(textfiles, "upcat.prom.tmp"), r.stdout);
  renameSync(join(textfiles, "upcat.prom.tmp"), join(textfiles, "upcat.prom"));
  const port = await freePort();
  // Every collector off but the textfile one: nothing else is read, and nothing touches the network.
  const proc = Bun.spawn(
    [
      exporter,
      "--collector.disable-defaults",
      "--collector.textfile",
      `--collector.textfile.directory=${textfiles}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--web.disable-exporter-metrics",
    ],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  try {
    const metrics = await scrape(port);
    const up = metrics.split("\n").filter((l) => l.startsWith("upcat_check_up{"));
    // node_exporter sorts labels by name.
    expect(up.sort()).toEqual(
      [
        `upcat_check_up{host="127.0.0.1",port="${closed}",proto="tcp",target="tcp://127.0.0.1:${closed}"} 0`,
        `upcat_check_up{host="127.0.0.1",port="${tcp.port}",proto="tcp",target="tcp://127.0.0.1:${tcp.port}"} 1`,
        `upcat_check_up{host="127.0.0.1",port="${web.port}",proto="http",target="${web.base}/status/503"} 0`,
        `upcat_check_up{host="localhost",port="${tls.port}",proto="https",target="https://localhost:${tls.port}/"} 1`,
      ].sort(),
    );
    expect(metrics).toContain(
      `upcat_check_http_status_code{host="127.0.0.1",port="${web.port}",proto="http",` +
        `target="${web.base}/status/503"} 503`,
    );
    expect(metrics).toMatch(
      new RegExp(
        `upcat_check_tls_cert_expiry_timestamp_seconds\\{host="localhost",port="${tls.port}",proto="https",` +
          `target="https://localhost:${tls.port}/"\\} [\\d.e+]+\\n`,
      ),
    );
    expect(metrics).toMatch(
      re(
        /upcat_check_state\{host="127\.0\.0\.1",port="\d+",proto="tcp",/,
        /state="closed",target="tcp:\/\/127\.0\.0\.1:\d+"\} 1/,
      ),
    );
    expect(metrics).toContain("node_textfile_scrape_error 0");
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}, 30_000);

test("--json from the binary validates against the schema the binary prints with --schema", async () => {
  const schema = await run(cmd, ["check", "--schema"]);
  expect(schema.status).toBe(0);
  const printed = JSON.parse(schema.stdout);
  expect(printed.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
  const r = await run(cmd, ["check", "--json", ...targets(), `udp://127.0.0.1:${closed}`]);
  const records = jsonRecords(r.stdout, printed);
  expect(records.map((x) => [x.proto, x.state])).toEqual([
    ["tcp", "open"],
    ["tcp", "closed"],
    ["http", "mismatch"],
    ["https", "open"],
    ["udp", "closed"],
  ]);
});

test("-- CMD with no shell on PATH: /bin/echo runs by path, and SIGTERM reaches a bare /bin/sleep", async () => {
  const echo = await run(cmd, ["check", "--quiet", `127.0.0.1:${tcp.port}`, "--", "/bin/echo", "ready"]);
  expect(echo).toMatchObject({ status: 0, stdout: "ready\n", stderr: "" });
  const proc = Bun.spawn([...cmd.argv, "check", "--quiet", `127.0.0.1:${tcp.port}`, "--", "/bin/sleep", "30"], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    env: cmd.env,
  });
  // sleep is running once upcat has a child; the signal is then for it.
  const deadline = Date.now() + 10_000;
  while (!(await Bun.file(`/proc/${proc.pid}/task/${proc.pid}/children`).text()).trim()) {
    if (Date.now() > deadline) throw new Error("upcat never started /bin/sleep");
    await Bun.sleep(20);
  }
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(143);
});
