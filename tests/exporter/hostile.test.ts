// Requests an exporter open to a network will get: targets it must not reach, a storm of probes, a megabyte of query
// string, a target that hangs, credentials in a target. Each is bounded and answered, and counted on /metrics.
import type { TCPSocketListener } from "bun";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor, within } from "../support/wait.ts";
import { type Exporter, get, openFds, probeUrl, promtoolCheck, series, startUpcat } from "./exporters.ts";

const MAX_CONCURRENT = 5;
const STORM = 1000;

let open: Exporter;
let guarded: Exporter;
let silent: TCPSocketListener;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "upcat-exporter-"));
  writeFileSync(join(dir, "modules.txt"), "hello: --expect hello\nweb: --status 200\n");
  silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  [open, guarded] = await Promise.all([
    startUpcat(),
    startUpcat([
      "--config",
      join(dir, "modules.txt"),
      "--allow-target",
      "127.0.0.1",
      "--max-concurrent",
      String(MAX_CONCURRENT),
    ]),
  ]);
}, 20_000);

afterAll(async () => {
  silent?.stop(true);
  await Promise.all([open?.stop(), guarded?.stop()]);
});

/** oneLine: an error answer is one line of text, as a log or a person with curl reads it. */
function oneLine(text: string): string {
  expect(text.endsWith("\n")).toBe(true);
  expect(text.slice(0, -1)).not.toContain("\n");
  return text.slice(0, -1);
}

describe("not an open proxy", () => {
  test.each([
    "127.0.0.1:22",
    "[::1]:22",
    "169.254.169.254:80",
    "http://169.254.169.254/latest/meta-data/",
    "0.0.0.0:22",
  ])("with no --allow-target, %p is refused (403) before anything is sent", async (target) => {
    const r = await get(probeUrl(open, target, target.startsWith("http") ? "http_2xx" : "tcp"));
    expect(r.status).toBe(403);
    expect(oneLine(r.text)).toContain("is not an allowed target");
  });

  test("a name that resolves to loopback is refused as its address is", async () => {
    const r = await get(probeUrl(open, "localhost:22", "tcp"));
    expect(r.status).toBe(403);
    expect(oneLine(r.text)).toMatch(/^localhost \((127\.0\.0\.1|::1)\) is not an allowed target$/);
  });

  test("with --allow-target 127.0.0.1, another address is refused and 127.0.0.1 is probed", async () => {
    const refused = await get(probeUrl(guarded, "192.0.2.1:80", "tcp"));
    expect(refused.status).toBe(403);
    const probed = await get(probeUrl(guarded, `127.0.0.1:${silent.port}`, "tcp"));
    expect(probed.status).toBe(200);
    expect(series(probed.text).get("probe_success")).toBe(1);
  });

  test("credentials in a target are never echoed: not in the metrics, the debug log or an error line", async () => {
    const target = "http://alice:s3cret@127.0.0.1:1/";
    const debug = await get(probeUrl(guarded, target, "http_2xx", true));
    expect(debug.status).toBe(200);
    expect(debug.text).toContain("alice:***@");
    const wrong = await get(probeUrl(guarded, target, "hello"));
    const refused = await get(probeUrl(open, target, "http_2xx"));
    const bad = await get(probeUrl(guarded, "postgres://bob:s3cret@127.0.0.1:99999/db"));
    for (const r of [debug, wrong, refused, bad]) expect(r.text).not.toContain("s3cret");
    expect([wrong.status, refused.status, bad.status]).toEqual([200, 403, 400]);
  });
});

describe("requests that do not parse are a 400 with one line", () => {
  test.each([
    ["/probe", "target= is required"],
    ["/probe?target=", "target= is required"],
    ["/probe?target=127.0.0.1:1&target=127.0.0.1:2", "target= is given 2 times"],
    ["/probe?target=127.0.0.1:1&module=nope", 'unknown module "nope"'],
    ["/probe?target=127.0.0.1:1%20--ca%20/etc/shadow", "without blanks"],
    ["/probe?target=127.0.0.1:1-9", "a probe checks one target"],
    ["/probe?target=127.0.0.1:99999", "invalid target"],
    ["/probe?target=127.0.0.1:1&module=web", "--status is for http:// and https:// targets"],
    ["/probe?target=gopher://127.0.0.1:70/", "unknown scheme"],
  ])("%p: %p", async (path, message) => {
    const r = await get(`${guarded.base}${path}`);
    expect(r.status).toBe(400);
    expect(oneLine(r.text)).toContain(message);
  });

  test("a scrape timeout header that is no number is a 400", async () => {
    const r = await get(probeUrl(guarded, "127.0.0.1:1", "tcp"), "soon" as unknown as number);
    expect(r.status).toBe(400);
  });
});

describe("bounded", () => {
  test(`${STORM} probes at once of a hanging target: ${MAX_CONCURRENT} run, the rest are 503 at once`, async () => {
    const fdsBefore = openFds(guarded.proc.pid);
    const started = performance.now();
    const answers = await within(
      "the storm's answers",
      Promise.all(
        Array.from({ length: STORM }, async () => {
          // Each on its own connection, closed after: what the exporter holds afterwards is its own.
          const r = await get(probeUrl(guarded, `127.0.0.1:${silent.port}`, "hello"), 2, { connection: "close" });
          return { ...r, ms: performance.now() - started };
        }),
      ),
      10_000,
    );
    const probed = answers.filter((a) => a.status === 200);
    const busy = answers.filter((a) => a.status === 503);
    expect(probed.length).toBeGreaterThanOrEqual(1);
    expect(probed.length).toBeLessThanOrEqual(MAX_CONCURRENT);
    expect(probed.length + busy.length).toBe(STORM);
    // Refused at once: long before the probes' 1.5s deadline.
    for (const a of busy) expect(a.ms).toBeLessThan(1400);
    for (const a of probed) {
      const s = series(a.text);
      expect(s.get("probe_success")).toBe(0);
      expect(s.get('upcat_check_state{state="timeout"}')).toBe(1);
      expect(a.ms).toBeLessThan(2000);
    }
    expect(oneLine(busy[0]!.text)).toContain("--max-concurrent");
    const metrics = series((await get(`${guarded.base}/metrics`)).text);
    expect(metrics.get("upcat_exporter_probes_in_flight")).toBe(0);
    expect(metrics.get('upcat_exporter_requests_refused_total{reason="too_many"}')).toBeGreaterThanOrEqual(busy.length);
    // Nothing leaks: the probes' sockets and the storm's connections are all closed again.
    await waitFor(
      "the exporter's descriptors back to where they were",
      () => openFds(guarded.proc.pid) <= fdsBefore + 2,
    );
  }, 15_000);

  test("a hanging target is answered within the scrape timeout, less the margin", async () => {
    const started = performance.now();
    const r = await get(probeUrl(guarded, `127.0.0.1:${silent.port}`, "hello"), 1);
    const ms = performance.now() - started;
    expect(r.status).toBe(200);
    expect(series(r.text).get("probe_success")).toBe(0);
    expect(ms).toBeGreaterThan(450);
    expect(ms).toBeLessThan(1000);
  });

  test("a 1 MB query string is refused, and the exporter goes on answering", async () => {
    const huge = await fetch(`${guarded.base}/probe?target=${"a".repeat(1 << 20)}`, {
      signal: AbortSignal.timeout(10_000),
    });
    expect([414, 431]).toContain(huge.status);
    const long = await get(`${guarded.base}/probe?target=${"a".repeat(10_000)}`);
    expect(long.status).toBe(414);
    expect(oneLine(long.text)).toContain("over 8192 bytes");
    const after = await get(probeUrl(guarded, `127.0.0.1:${silent.port}`, "tcp"));
    expect(series(after.text).get("probe_success")).toBe(1);
  });

  test("a body is not read past its bound", async () => {
    const r = await fetch(`${guarded.base}/metrics`, {
      method: "POST",
      body: "x".repeat(1 << 20),
      signal: AbortSignal.timeout(10_000),
    });
    expect([405, 413]).toContain(r.status);
  });
});

describe("/metrics and /", () => {
  test("/metrics counts probes by module and result, and passes promtool", async () => {
    await get(probeUrl(guarded, `127.0.0.1:${silent.port}`, "tcp"));
    const r = await get(`${guarded.base}/metrics`);
    expect(r.status).toBe(200);
    expect(promtoolCheck(r.text)).toEqual({ status: 0, said: "" });
    const s = series(r.text);
    expect(s.get('upcat_exporter_probes_total{module="tcp",result="success"}')).toBeGreaterThanOrEqual(1);
    expect(s.get('upcat_exporter_requests_refused_total{reason="not_allowed"}')).toBeGreaterThanOrEqual(1);
    expect(s.get('upcat_exporter_requests_refused_total{reason="bad_request"}')).toBeGreaterThanOrEqual(1);
    expect(s.get("upcat_exporter_max_concurrent")).toBe(MAX_CONCURRENT);
  });

  test("/ names the endpoints; anything else is a 404", async () => {
    const page = await get(`${guarded.base}/`);
    expect(page.text).toContain("/probe?target=");
    expect(page.text).toContain("/metrics");
    expect((await get(`${guarded.base}/nope`)).status).toBe(404);
  });

  test("SIGTERM stops it with status 0 and a last line", async () => {
    const one = await startUpcat();
    expect(await one.stop()).toBe(0);
    const said = await one.stderr();
    expect(said).toContain("stopped by SIGTERM");
    // On loopback, no --allow-target is no warning: only this machine reaches it.
    expect(said).not.toContain("warning");
  });
});
