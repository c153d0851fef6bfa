// Many targets at once: verdicts in order, concurrency bounded, retries and --wait against servers that come up late.
import { afterAll, expect, test } from "bun:test";
import { backoffMs, runChecks } from "../../src/check/run.ts";
import type { Target } from "../../src/transport/target.ts";
import { freePort } from "../support/peers.ts";
import { waitFor } from "../support/wait.ts";

const tcp = (port: number): Target => ({ transport: "tcp", host: "127.0.0.1", port });
const stops: (() => void)[] = [];
afterAll(() => stops.forEach((s) => s()));

/** listenOn binds a TCP listener on `port` that counts connections open at once. */
function listenOn(port: number, gauge?: { now: number; max: number }) {
  const l = Bun.listen({
    hostname: "127.0.0.1",
    port,
    socket: {
      open() {
        if (gauge) gauge.max = Math.max(gauge.max, ++gauge.now);
      },
      close() {
        if (gauge) gauge.now--;
      },
      data() {},
    },
  });
  stops.push(() => l.stop(true));
  return l;
}

const base = { timeoutMs: 1000, retries: 0, concurrency: 100, udpSilentOk: false };

test("1000 ports, every other one open: each verdict right, in the order given", async () => {
  // A block of 1000 ports where the odd ones are bound: find one whose ports are all free first.
  const open = new Set<number>();
  let start = 0;
  for (let tries = 0; tries < 20 && open.size < 500; tries++) {
    stops.splice(0).forEach((s) => s());
    open.clear();
    // Below the ephemeral range (32768+): a connect to a closed port there can pick that very port as its
    // own source and connect to itself (TCP simultaneous open), which reads as open.
    start = 10000 + Math.floor(Math.random() * 21000);
    try {
      for (let p = start + 1; p < start + 1000; p += 2) {
        listenOn(p);
        open.add(p);
      }
      // The even ones must be closed: bound and let go here, so that nothing else on the machine listens on one (CI
      // once found one open; memcached's 11211 is in this range).
      for (let p = start; p < start + 1000; p += 2)
        Bun.listen({ hostname: "127.0.0.1", port: p, socket: { data() {} } }).stop(true);
    } catch {
      open.clear();
    }
  }
  expect(open.size).toBe(500);
  const targets = Array.from({ length: 1000 }, (_, i) => tcp(start + i));
  const results = await runChecks(targets, base);
  expect(results.map((r) => r.target.port)).toEqual(targets.map((t) => t.port));
  for (const r of results) expect(r.state).toBe(open.has(r.target.port) ? "open" : "closed");
  stops.splice(0).forEach((s) => s());
});

test("--concurrency bounds the tries in flight", async () => {
  const gauge = { now: 0, max: 0 };
  // Targets that wait for a reply which never comes keep their connection open for the whole try.
  const l = listenOn(0, gauge);
  const targets = Array.from({ length: 12 }, () => tcp(l.port));
  const t0 = performance.now();
  const running = runChecks(targets, { ...base, timeoutMs: 150, concurrency: 3, wanted: () => false });
  // Once the first round is up, and long before its 150ms are out, exactly three connections are up (a server sees a
  // close a little late, so the max is not exact).
  await waitFor("the first three connections", () => gauge.now >= 3);
  expect(gauge.now).toBe(3);
  const results = await running;
  expect(results.every((r) => r.state === "timeout")).toBe(true);
  // Twelve tries of 150ms, three at a time, are four rounds.
  expect(performance.now() - t0).toBeGreaterThanOrEqual(4 * 150 - 5);
});

test("onResult hears of each target once, with its index", async () => {
  const l = listenOn(0);
  const closed = await freePort();
  const seen: [number, string][] = [];
  await runChecks([tcp(l.port), tcp(closed), tcp(l.port)], { ...base, onResult: (i, r) => seen.push([i, r.state]) });
  expect(seen.sort()).toEqual([
    [0, "open"],
    [1, "closed"],
    [2, "open"],
  ]);
});

test("--retries: a closed port is tried 1 + N times, backing off; a late server is found", async () => {
  const port = await freePort();
  const gone = await runChecks([tcp(port)], { ...base, retries: 2 });
  expect(gone[0]).toMatchObject({ state: "closed", ok: false, attempts: 3 });
  // The server comes up after the first try: the second (100ms later) or third finds it.
  setTimeout(() => listenOn(port), 50);
  const late = await runChecks([tcp(port)], { ...base, retries: 3 });
  expect(late[0]).toMatchObject({ state: "open", ok: true });
  expect(late[0]!.attempts).toBeGreaterThan(1);
});

test("--wait: keeps trying until the server is up, then passes", async () => {
  const port = await freePort();
  setTimeout(() => listenOn(port), 400);
  const progress: number[] = [];
  const t0 = performance.now();
  const [r] = await runChecks([tcp(port)], {
    ...base,
    waitMs: 5000,
    onProgress: (p) => progress.push(p.waiting.length),
  });
  expect(r).toMatchObject({ state: "open", ok: true });
  expect(r!.attempts).toBeGreaterThan(2);
  expect(progress).toContain(1);
  expect(performance.now() - t0).toBeLessThan(5000);
});

test("--wait: a target that never comes up fails once the deadline passes, not long after", async () => {
  const port = await freePort();
  const t0 = performance.now();
  const [r] = await runChecks([tcp(port)], { ...base, waitMs: 600 });
  const took = performance.now() - t0;
  expect(r).toMatchObject({ state: "closed", ok: false });
  expect(r!.attempts).toBeGreaterThan(3);
  // The last try starts about 100ms before the deadline, so that it has some time of its own.
  expect(took).toBeGreaterThan(450);
  expect(took).toBeLessThan(600 + 1000);
});

test("--wait with a hanging target: no try runs past the deadline", async () => {
  const l = listenOn(0);
  const t0 = performance.now();
  const [r] = await runChecks([tcp(l.port)], { ...base, timeoutMs: 5000, waitMs: 400, wanted: () => false });
  expect(r!.state).toBe("timeout");
  expect(performance.now() - t0).toBeLessThan(400 + 1000);
});

test("--udp-silent-ok passes a UDP port that stays silent, and only then", async () => {
  const sock = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  stops.push(() => sock.close());
  const target: Target = { transport: "udp", host: "127.0.0.1", port: sock.port };
  const [strict] = await runChecks([target], { ...base, timeoutMs: 200 });
  const [lenient] = await runChecks([target], { ...base, timeoutMs: 200, udpSilentOk: true });
  expect(strict).toMatchObject({ state: "no_reply", ok: false });
  expect(lenient).toMatchObject({ state: "no_reply", ok: true });
});

test("backoff doubles from 100ms and stops growing at 1s", () => {
  expect([1, 2, 3, 4, 5, 6].map(backoffMs)).toEqual([100, 200, 400, 800, 1000, 1000]);
});

test(
  "each target its own probe (a --file line's options): the same port passes for one and fails for " + "another",
  async () => {
    const l = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: (s) => void s.write("+PONG\r\n"), data() {} },
    });
    stops.push(() => l.stop(true));
    const text = (want: string) => (reply: Uint8Array) => new TextDecoder().decode(reply).includes(want);
    const results = await runChecks([tcp(l.port), tcp(l.port), tcp(l.port)], {
      ...base,
      each: [{ wanted: text("+PONG") }, { wanted: text("-ERR"), timeoutMs: 200 }, {}],
    });
    expect(results.map((r) => [r.state, r.ok])).toEqual([
      ["open", true],
      ["mismatch", false],
      ["open", true],
    ]);
    expect(results[2]!.reply).toBeUndefined();
  },
);
