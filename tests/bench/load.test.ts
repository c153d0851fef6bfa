// upcat bench's load generator against real upcat servers on loopback: counts, errors and shape, never speed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { payloadOf, percentile, runBench } from "../../src/bench/load.ts";
import { echo } from "../../src/protocol/echo.ts";
import { upper } from "../../src/protocol/upper.ts";
import type { Listener } from "../../src/transport/listener.ts";
import { serveTcp } from "../../src/transport/tcp-server.ts";
import { serveUdp } from "../../src/transport/udp-server.ts";
import { NetError } from "../../src/errors.ts";

let udp: Listener;
let tcp: Listener;
let tcpEcho: Listener;
beforeAll(async () => {
  // A load test from one address: the per-prefix and per-address bounds are lifted, as for any.
  udp = await serveUdp(upper, { host: "127.0.0.1", port: 0, udpReplyRate: 0 });
  tcp = await serveTcp(upper, { host: "127.0.0.1", port: 0, limits: { maxPerAddress: 0 } });
  tcpEcho = await serveTcp(echo, { host: "127.0.0.1", port: 0, limits: { maxPerAddress: 0 } });
});
afterAll(() => {
  udp.stop();
  tcp.stop();
  tcpEcho.stop();
});

test.each([
  [[], 50, 0],
  [[1, 2, 3, 4], 50, 2],
  [[1, 2, 3, 4], 100, 4],
  [[5], 99, 5],
  [Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
])("percentile takes the nearest rank, case %#", (values, p, want) => {
  expect(percentile(values, p)).toBe(want);
});

test("payloadOf is lowercase letters ending in a newline", () => {
  expect(new TextDecoder().decode(payloadOf(5))).toBe("abcd\n");
  expect(payloadOf(0).length).toBe(0);
});

describe.each(["udp", "tcp"] as const)("over %s", (transport) => {
  test("every request is answered, none is an error, and the figures hang together", async () => {
    const port = transport === "udp" ? udp.port : tcp.port;
    const r = await runBench({
      target: { transport, host: "127.0.0.1", port },
      durationMs: 300,
      concurrency: 4,
      size: 64,
      timeoutMs: 2000,
    });
    expect(r.errors).toBe(0);
    expect(r.replies).toBeGreaterThan(0);
    expect(r.requests).toBe(r.replies);
    expect(r.bytesIn).toBe(r.replies * 64);
    expect(r.concurrency).toBe(4);
    expect(r.target).toBe(`${transport}://127.0.0.1:${port}`);
    expect(r.latency.p50).toBeGreaterThan(0);
    expect(r.latency.p50).toBeLessThanOrEqual(r.latency.p99);
    expect(r.latency.p99).toBeLessThanOrEqual(r.latency.max);
    expect(r.rate).toBeGreaterThan(0);
    // The server saw what the bench says it sent.
    const counters = (transport === "udp" ? udp : tcp).counters;
    if (transport === "udp") expect(counters.datagramsIn).toBeGreaterThanOrEqual(r.requests);
    else expect(counters.bytesIn).toBeGreaterThanOrEqual(r.requests * 64);
  });

  test("nothing listening is a NetError naming the address", async () => {
    const closed =
      transport === "udp"
        ? await serveUdp(upper, { host: "127.0.0.1", port: 0 })
        : await serveTcp(upper, { host: "127.0.0.1", port: 0 });
    const port = closed.port;
    closed.stop();
    const run = runBench({
      target: { transport, host: "127.0.0.1", port },
      durationMs: 300,
      concurrency: 2,
      size: 16,
      timeoutMs: 200,
    });
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (transport === "tcp") {
      expect(err).toBeInstanceOf(NetError);
      expect((err as NetError).message).toContain(`127.0.0.1:${port}`);
    } else {
      // ICMP port unreachable normally arrives as a refusal; without it every request times out as an error.
      if (err) expect((err as NetError).message).toContain(`127.0.0.1:${port}`);
    }
  });
});

test("many TCP connections at once: each gets its replies", async () => {
  const r = await runBench({
    target: { transport: "tcp", host: "127.0.0.1", port: tcpEcho.port },
    durationMs: 300,
    concurrency: 200,
    size: 100,
    timeoutMs: 3000,
  });
  expect(r.errors).toBe(0);
  expect(r.replies).toBeGreaterThanOrEqual(200);
  expect(tcpEcho.counters.connections).toBeGreaterThanOrEqual(200);
});

test("a UDP server that never answers: every request is an error, no replies", async () => {
  const silent = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  try {
    const r = await runBench({
      target: { transport: "udp", host: "127.0.0.1", port: silent.port },
      durationMs: 250,
      concurrency: 3,
      size: 8,
      timeoutMs: 100,
    });
    expect(r.replies).toBe(0);
    expect(r.errors).toBe(r.requests);
    expect(r.errors).toBeGreaterThanOrEqual(3);
    expect(r.latency).toEqual({ p50: 0, p99: 0, max: 0, mean: 0 });
  } finally {
    silent.close();
  }
});
