// Modules as the exporter reads them: built-in and --config, a module's --timeout against the scrape's, the debug log,
// and the compiled binary doing the same as the source.
import type { TCPSocketListener } from "bun";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compiled } from "../support/binary.ts";
import { freePort } from "../support/peers.ts";
import { fromSource, run, type Server, startServer } from "../support/run.ts";
import { waitFor } from "../support/wait.ts";
import { type Exporter, get, probeUrl, promtoolCheck, series, startUpcat } from "./exporters.ts";

const dir = mkdtempSync(join(tmpdir(), "upcat-exporter-"));
const MODULES = [
  "# a comment, then modules",
  "upper_udp: --udp --protocol upper",
  "quick: --expect hello --timeout 300ms",
  "banner: --expect-prefix 'SSH-2.0-' --timeout 5s",
  "",
].join("\n");

let upcat: Exporter;
let udp: Server;
let silent: TCPSocketListener;
let banner: TCPSocketListener;

beforeAll(async () => {
  writeFileSync(join(dir, "modules.txt"), MODULES);
  silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  banner = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { open: (s) => void s.write("SSH-2.0-OpenSSH_9.2\r\n"), data() {} },
  });
  [upcat, udp] = await Promise.all([
    startUpcat(["--config", join(dir, "modules.txt"), "--allow-target", "127.0.0.0/8"]),
    startServer(fromSource, ["--udp", "--host", "127.0.0.1", "--port", "0"]),
  ]);
}, 20_000);

afterAll(async () => {
  silent?.stop(true);
  banner?.stop(true);
  await Promise.all([upcat?.stop(), udp?.stop()]);
});

describe("modules", () => {
  test("udp, built in: a UDP server that answers passes; a closed UDP port is closed", async () => {
    const port = await freePort("udp");
    const [open, closed] = await Promise.all([
      get(probeUrl(upcat, `127.0.0.1:${udp.port}`, "upper_udp")),
      get(probeUrl(upcat, `127.0.0.1:${port}`, "udp")),
    ]);
    expect(series(open.text).get("probe_success")).toBe(1);
    const c = series(closed.text);
    expect(c.get("probe_success")).toBe(0);
    expect(c.get('upcat_check_state{state="closed"}')).toBe(1);
  });

  test("tls on a port that does not speak it fails, and says why in upcat_check_info", async () => {
    const r = await get(probeUrl(upcat, `127.0.0.1:${banner.port}`, "tls"));
    const s = series(r.text);
    expect(s.get("probe_success")).toBe(0);
    expect([...s.keys()].find((k) => k.startsWith("upcat_check_info"))).toContain('cause="not_tls"');
  });

  test("a module's own matcher passes a banner that matches", async () => {
    const r = await get(probeUrl(upcat, `127.0.0.1:${banner.port}`, "banner"));
    const s = series(r.text);
    expect(s.get("probe_success")).toBe(1);
    expect(s.get("probe_failed_due_to_regex")).toBe(0);
  });

  test("the module's --timeout caps the scrape's: 300ms, not the 10s header less 0.5s", async () => {
    const started = performance.now();
    const r = await get(probeUrl(upcat, `127.0.0.1:${silent.port}`, "quick", true), 10);
    const ms = performance.now() - started;
    expect(r.text).toContain('timeout="300ms"');
    expect(ms).toBeLessThan(1500);
    const banner = await get(probeUrl(upcat, `127.0.0.1:${silent.port}`, "banner", true), 1);
    // A 5s module under a 1s scrape: the scrape wins, less its margin (half of it, under a second).
    expect(banner.text).toContain('timeout="500ms"');
  });

  test("debug=true answers the check's log, the metrics it would have returned, and the module", async () => {
    const r = await get(probeUrl(upcat, `127.0.0.1:${silent.port}`, "quick", true));
    expect(r.status).toBe(200);
    expect(r.contentType).toStartWith("text/plain");
    const [log, metrics, module] = r.text.split("\n\n\n");
    expect(log).toStartWith(`Logs for the probe of tcp://127.0.0.1:${silent.port}:\n`);
    expect(log).toContain('msg="Beginning probe"');
    expect(log).toContain('msg="Check finished" state="timeout"');
    expect(log).toContain('msg="Probe failed"');
    expect(metrics).toStartWith("Metrics that would have been returned:\n");
    expect(promtoolCheck(`${metrics!.slice(metrics!.indexOf("\n") + 1)}\n`).status).toBe(0);
    expect(module).toBe('Module configuration:\nquick: --expect "hello" --timeout "300ms"\n');
  });
});

describe("--config that does not read is exit 2, naming its line", () => {
  test.each([
    ["bad: --sned x", "modules.txt:1: unknown option --sned (did you mean --send?)"],
    ["ok: --udp\nok: --tls", "modules.txt:2: module ok is given twice"],
    ["tls: --udp", "modules.txt:1: tls is a built-in module"],
    ["# values are read at start-up too\nslow: --timeout soon", "modules.txt:2: invalid duration for --timeout"],
    ["web: --status 2xx", 'modules.txt:1: invalid --status: "2xx"'],
    ["inner: --tls --ca /nonexistent/ca.pem", "modules.txt:1: cannot read --ca /nonexistent/ca.pem: no such file"],
    ["both: --udp --tls", "modules.txt:1: --tls is for TCP targets"],
  ])("%p", async (text, message) => {
    const sub = mkdtempSync(join(dir, "bad-"));
    writeFileSync(join(sub, "modules.txt"), text);
    const r = await run(fromSource, ["exporter", "--listen", "127.0.0.1:0", "--config", join(sub, "modules.txt")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
  });

  test("options that do not read are exit 2", async () => {
    for (const args of [
      ["--allow-target", "10.0.0.1/8"],
      ["--max-concurrent", "0"],
      ["--listen", "udp://1.2.3.4:5"],
    ]) {
      const r = await run(fromSource, ["exporter", ...args]);
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
    }
  });
});

test("the compiled binary, with no bun on its PATH, answers a probe as the source does", async () => {
  const exporter = await startUpcat(["--allow-target", "127.0.0.1"], await compiled());
  try {
    const [open, closed] = await Promise.all([
      get(probeUrl(exporter, `127.0.0.1:${banner.port}`, "tcp")),
      get(probeUrl(exporter, `http://127.0.0.1:${await freePort()}/`)),
    ]);
    expect(series(open.text).get("probe_success")).toBe(1);
    const c = series(closed.text);
    expect(c.get("probe_success")).toBe(0);
    expect(c.get("probe_http_status_code")).toBe(0);
  } finally {
    expect(await exporter.stop()).toBe(0);
  }
}, 120_000);

test("SIGHUP reads --config again; a file that no longer reads leaves the modules as they were", async () => {
  const sub = mkdtempSync(join(dir, "reload-"));
  const file = join(sub, "modules.txt");
  writeFileSync(file, "first: --timeout 1s\n");
  const exporter = await startUpcat(["--config", file, "--allow-target", "127.0.0.1"]);
  try {
    const second = probeUrl(exporter, `127.0.0.1:${banner.port}`, "second");
    expect((await get(second)).status).toBe(400);
    writeFileSync(file, "first: --timeout 1s\nsecond: --expect-prefix SSH-\n");
    exporter.proc.kill("SIGHUP");
    await waitFor("module second after SIGHUP", async () => (await get(second)).status === 200);
    expect(series((await get(second)).text).get("probe_success")).toBe(1);
    writeFileSync(file, "second: --sned x\n");
    exporter.proc.kill("SIGHUP");
    await waitFor("the failed reload counted", async () => {
      const m = series((await get(`${exporter.base}/metrics`)).text);
      return m.get("upcat_exporter_config_last_reload_successful") === 0;
    });
    const m = series((await get(`${exporter.base}/metrics`)).text);
    expect(m.get('upcat_exporter_config_reloads_total{result="success"}')).toBe(1);
    expect(m.get('upcat_exporter_config_reloads_total{result="failure"}')).toBe(1);
    expect((await get(second)).status).toBe(200);
  } finally {
    expect(await exporter.stop()).toBe(0);
  }
  const said = await exporter.stderr();
  expect(said).toContain("SIGHUP: --config read again, 2 modules of its own");
  expect(said).toContain("SIGHUP: --config not read again, the modules stay as they were: ");
  expect(said).toContain("unknown option --sned");
});

test("IPv6: --allow-target ::1 admits [::1]:port, and probe_ip_protocol says 6", async () => {
  const six = Bun.listen({ hostname: "::1", port: 0, socket: { data() {} } });
  const exporter = await startUpcat(["--allow-target", "::1"]);
  try {
    const [ours, four] = await Promise.all([
      get(probeUrl(exporter, `[::1]:${six.port}`, "tcp")),
      get(probeUrl(exporter, `127.0.0.1:${six.port}`, "tcp")),
    ]);
    const s = series(ours.text);
    expect([s.get("probe_success"), s.get("probe_ip_protocol")]).toEqual([1, 6]);
    expect(four.status).toBe(403);
  } finally {
    six.stop(true);
    expect(await exporter.stop()).toBe(0);
  }
});
