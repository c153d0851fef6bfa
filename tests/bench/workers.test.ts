// upcat bench --workers: load processes whose figures add up to what a server saw, merged percentiles,
// a worker that dies, and the wrong values. Real sockets on loopback; counts and shape, never speed.
import { afterEach, expect, test } from "bun:test";
import { type BenchPart, shareOf, summarize } from "../../src/bench/load.ts";
import { countingServer } from "../support/counting-server.ts";
import { fromSource, run } from "../support/run.ts";
import { alive, childrenOf, waitFor } from "../support/wait.ts";

const started: Bun.Subprocess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) p.kill("SIGKILL");
});

test.each([
  [32, 2, [16, 16]],
  [5, 2, [3, 2]],
  [7, 3, [3, 2, 2]],
  [4, 4, [1, 1, 1, 1]],
])("%p in flight over %p workers", (total, workers, want) => {
  const shares = Array.from({ length: workers }, (_, i) => shareOf(total, workers, i));
  expect(shares).toEqual(want);
});

test("parts merge as loadgen sums them: counts added, rates added, percentiles of every latency", () => {
  const part = (latencies: number[], elapsedMs: number): BenchPart => ({
    requests: latencies.length + 1,
    replies: latencies.length,
    errors: 1,
    bytesIn: latencies.length * 8,
    elapsedMs,
    latencies: Float64Array.from(latencies),
  });
  // One fast worker with many replies and one slow one with few: the average of their p50s would be 50.5.
  const fast = part(
    Array.from({ length: 99 }, () => 1),
    1000,
  );
  const slow = part([100], 2000);
  const r = summarize(
    { target: { transport: "udp", host: "127.0.0.1", port: 9 }, concurrency: 4, size: 8 },
    "127.0.0.1",
    [fast, slow],
  );
  expect(r).toMatchObject({ requests: 102, replies: 100, errors: 2, bytesIn: 800, durationMs: 2000 });
  // 99 replies in 1 s and 1 in 2 s.
  expect(r.rate).toBe(Math.round(99 + 0.5));
  expect(r.latency).toEqual({ p50: 1, p99: 1, max: 100, mean: 1.99 });
});

test.each(["udp", "tcp"] as const)(
  "over %s, the workers' totals are what the server saw",
  async (transport) => {
    const server = await countingServer(started);
    const port = transport === "udp" ? server.udp : server.tcp;
    const ran = await run(
      fromSource,
      [
        "bench",
        `${transport}://127.0.0.1:${port}`,
        "--workers",
        "3",
        "--concurrency",
        "7",
        "--size",
        "16",
        "--duration",
        "400ms",
        "--timeout",
        "3s",
        "--json",
      ],
      { timeoutMs: 30_000 },
    );
    expect(ran.stderr).toBe("");
    expect(ran.status).toBe(0);
    const lines = ran.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]!);
    expect(r).toMatchObject({ proto: transport, concurrency: 7, workers: 3, size: 16, errors: 0 });
    expect(r.replies).toBeGreaterThan(0);
    expect(r.requests).toBe(r.replies);
    expect(r.bytes_in).toBe(r.replies * 16);
    expect(r.p50_ms).toBeLessThanOrEqual(r.p99_ms);
    expect(r.p99_ms).toBeLessThanOrEqual(r.max_ms);
    const seen = await server.counts();
    if (transport === "udp") {
      expect(seen.datagrams).toBe(r.requests);
      // Each worker spreads its share over sockets of its own: 3 + 2 + 2 in flight, 7 source ports.
      expect(seen.sources).toBe(7);
    } else {
      expect(seen.connections).toBe(7);
      expect(seen.bytes).toBe(r.requests * 16);
    }
  },
  40_000,
);

/** connectedUdp counts the UDP sockets connected to a local port (ss, iproute2). */
function connectedUdp(port: number): number {
  const ss = Bun.spawnSync(["ss", "-Hun", "state", "established", `( dport = :${port} )`]);
  return ss.stdout
    .toString()
    .split("\n")
    .filter((line) => line.trim() !== "").length;
}

test("a worker that dies fails the run with one clear line and status 1", async () => {
  const server = await countingServer(started);
  const proc = Bun.spawn(
    [
      ...fromSource.argv,
      "bench",
      `udp://127.0.0.1:${server.udp}`,
      "--workers",
      "2",
      "--concurrency",
      "2",
      "--duration",
      "20s",
    ],
    { stdout: "pipe", stderr: "pipe", env: { ...fromSource.env, NO_COLOR: "1" } },
  );
  started.push(proc);
  await waitFor("two bench workers", () => childrenOf(proc.pid).length === 2, 15_000);
  // Both load: each has its socket connected to the server.
  await waitFor("the workers' sockets", () => connectedUdp(server.udp) === 2, 15_000);
  const [victim, other] = childrenOf(proc.pid);
  process.kill(victim!, "SIGKILL");
  const status = await proc.exited;
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  expect(status).toBe(1);
  expect(stdout).toBe("");
  expect(stderr).toMatch(/^upcat: bench worker [01] exited \(signal SIGKILL\) before it reported; no figures\n$/);
  // The other worker is stopped too.
  await waitFor("the other worker to end", () => !alive(other!), 5000);
}, 40_000);

test("a parent killed with SIGKILL leaves no load process behind", async () => {
  const server = await countingServer(started);
  const target = `udp://127.0.0.1:${server.udp}`;
  const argv = [...fromSource.argv, "bench", target, "--workers", "2", "--concurrency", "2", "--duration", "20s"];
  const proc = Bun.spawn(argv, { stdout: "ignore", stderr: "ignore", env: { ...fromSource.env, NO_COLOR: "1" } });
  started.push(proc);
  await waitFor("two bench workers", () => childrenOf(proc.pid).length === 2, 15_000);
  const workers = childrenOf(proc.pid);
  proc.kill("SIGKILL");
  await waitFor("the orphaned workers to stop", () => workers.every((pid) => !alive(pid)), 5000);
}, 40_000);

test.each([
  ["0", 'invalid --workers: "0" (expected a whole number from 1 to 256)'],
  ["abc", 'invalid --workers: "abc" (expected a whole number from 1 to 256)'],
  ["257", 'invalid --workers: "257" (expected a whole number from 1 to 256)'],
  ["3", "--workers 3 is more than --concurrency 2: each worker needs one"],
])("--workers %s exits 2 with one line", async (value, message) => {
  const ran = await run(fromSource, ["bench", "127.0.0.1:9", "--concurrency", "2", "--workers", value]);
  expect(ran.status).toBe(2);
  expect(ran.stdout).toBe("");
  expect(ran.stderr).toBe(`upcat: ${message}\n`);
});
