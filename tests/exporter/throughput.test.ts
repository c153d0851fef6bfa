// Probes a second through upcat exporter and Blackbox side by side, on the same open loopback port, and the exporter's
// memory after them: figures for the README, kept with UPCAT_TEST_FIGURES=FILE.
import type { TCPSocketListener } from "bun";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { figure } from "../support/figures.ts";
import { type Exporter, get, probeUrl, series, startBlackbox, startUpcat } from "./exporters.ts";

const PROBES = 2000;
const AT_ONCE = 20;

let upcat: Exporter;
let blackbox: Exporter;
let open: TCPSocketListener;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "upcat-exporter-"));
  open = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const config = "modules:\n  tcp_connect:\n    prober: tcp\n    tcp: { preferred_ip_protocol: ip4 }\n";
  [upcat, blackbox] = await Promise.all([startUpcat(["--allow-target", "127.0.0.1"]), startBlackbox(dir, config)]);
}, 20_000);

afterAll(async () => {
  open?.stop(true);
  await Promise.all([upcat?.stop(), blackbox?.stop()]);
});

/** load sends PROBES probes, AT_ONCE at a time, and returns probes a second; every one must pass. */
async function load(exporter: Exporter, module: string): Promise<number> {
  const url = probeUrl(exporter, `127.0.0.1:${open.port}`, module);
  let next = 0;
  let passed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: AT_ONCE }, async () => {
      while (next < PROBES) {
        next++;
        if (series((await get(url)).text).get("probe_success") === 1) passed++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  expect(passed).toBe(PROBES);
  return PROBES / seconds;
}

/** rssKiB is a process's resident memory (Linux /proc). */
function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
}

test(`${PROBES} tcp probes, ${AT_ONCE} at once: upcat exporter beside Blackbox`, async () => {
  const ours = await load(upcat, "tcp");
  const theirs = await load(blackbox, "tcp_connect");
  const rss = rssKiB(upcat.proc.pid);
  figure(
    `exporter throughput: ${PROBES} tcp probes ${AT_ONCE} at once on loopback: upcat ${ours.toFixed(0)}/s, ` +
      `blackbox ${theirs.toFixed(0)}/s; upcat RSS after ${(rss / 1024).toFixed(1)} MiB`,
  );
  // Bounded, not raced: the figures are the point; a machine under load is slower, never wrong.
  expect(ours).toBeGreaterThan(50);
  expect(rss).toBeLessThan(256 * 1024);
}, 60_000);
