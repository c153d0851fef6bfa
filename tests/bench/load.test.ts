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

// The load goes through libc on Linux (sendmmsg and recvmmsg, epoll) and through Bun's sockets elsewhere: both are
// tried here.
const ways = [
  ["udp", "libc"],
  ["udp", "bun"],
  ["tcp", "libc"],
  ["tcp", "bun"],
] as const;

describe.each(ways)("over %s (engine %s)", (transport, engine) => {
  test("every request is answered, none is an error, and the figures hang together", async () => {
    const port = transport === "udp" ? udp.port : tcp.port;
    const datagramsBefore = udp.counters.datagramsIn;
    const bytesBefore = tcp.counters.bytesIn;
    const r = await runBench({
      target: { transport, host: "127.0.0.1", port },
      durationMs: 300,
      concurrency: 4,
      size: 64,
      timeoutMs: 2000,
      engine,
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
    if (transport === "udp") expect(counters.datagramsIn - datagramsBefore).toBe(r.requests);
    else expect(counters.bytesIn - bytesBefore).toBe(r.requests * 64);
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
      engine,
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

test.each(["libc", "bun"] as const)("many TCP connections at once: each gets its replies (%s)", async (engine) => {
  const before = tcpEcho.counters.connections;
  const r = await runBench({
    target: { transport: "tcp", host: "127.0.0.1", port: tcpEcho.port },
    durationMs: 300,
    concurrency: 200,
    size: 100,
    timeoutMs: 3000,
    engine,
  });
  expect(r.errors).toBe(0);
  expect(r.replies).toBeGreaterThanOrEqual(200);
  expect(tcpEcho.counters.connections - before).toBe(200);
});

describe.each(["libc", "bun"] as const)("TCP servers that misbehave (%s)", (engine) => {
  /** rogue is a TCP server that answers the first `answered` requests of each connection, then does `then`. */
  const rogue = (answered: number, then: "close" | "silent") =>
    Bun.listen<{ n: number }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: (s) => void (s.data = { n: 0 }),
        data(s, chunk) {
          if (s.data.n++ < answered) return void s.write(chunk);
          if (then === "close") s.end();
        },
      },
    });

  test("a server that closes after one reply: one reply and one error a connection, and the run ends", async () => {
    const server = rogue(1, "close");
    try {
      const r = await runBench({
        target: { transport: "tcp", host: "127.0.0.1", port: server.port },
        durationMs: 2000,
        concurrency: 3,
        size: 10,
        timeoutMs: 2000,
        engine,
      });
      expect({ replies: r.replies, errors: r.errors, requests: r.requests }).toEqual({
        replies: 3,
        errors: 3,
        requests: 6,
      });
    } finally {
      server.stop(true);
    }
  });

  test("a server that goes quiet: each connection fails once its reply is timeoutMs late", async () => {
    const server = rogue(2, "silent");
    try {
      const t0 = performance.now();
      const r = await runBench({
        target: { transport: "tcp", host: "127.0.0.1", port: server.port },
        durationMs: 3000,
        concurrency: 2,
        size: 10,
        timeoutMs: 200,
        engine,
      });
      expect({ replies: r.replies, errors: r.errors }).toEqual({ replies: 4, errors: 2 });
      // The load ends when every connection has failed, not at the end of the duration.
      expect(performance.now() - t0).toBeLessThan(2000);
    } finally {
      server.stop(true);
    }
  });
});

test.each(["libc", "bun"] as const)(
  "a UDP server that never answers: every request is an error (%s)",
  async (engine) => {
    const silent = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const r = await runBench({
        target: { transport: "udp", host: "127.0.0.1", port: silent.port },
        durationMs: 250,
        concurrency: 3,
        size: 8,
        timeoutMs: 100,
        engine,
      });
      expect(r.replies).toBe(0);
      expect(r.errors).toBe(r.requests);
      expect(r.errors).toBeGreaterThanOrEqual(3);
      expect(r.latency).toEqual({ p50: 0, p99: 0, max: 0, mean: 0 });
    } finally {
      silent.close();
    }
  },
);

test.each(["libc", "bun"] as const)(
  "over IPv6, with replies longer than the requests: each counted whole (%s)",
  async (engine) => {
    // A Python server (nobody here wrote it) that answers each datagram with 3000 bytes, more than the libc engine
    // keeps of a reply: its length must still be counted as it came.
    const server = Bun.spawn(
      [
        "python3",
        "-c",
        [
          "import socket, sys",
          "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)",
          "s.bind(('::1', 0))",
          "print(s.getsockname()[1], flush=True)",
          "n = 0",
          "while True:",
          "    data, peer = s.recvfrom(65536)",
          "    n += 1",
          "    s.sendto(b'x' * 3000, peer)",
        ].join("\n"),
      ],
      { stdout: "pipe" },
    );
    try {
      const reader = server.stdout.getReader();
      const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
      const r = await runBench({
        target: { transport: "udp", host: "::1", port },
        durationMs: 300,
        concurrency: 2,
        size: 10,
        timeoutMs: 2000,
        engine,
      });
      expect(r.errors).toBe(0);
      expect(r.replies).toBeGreaterThan(0);
      expect(r.address).toBe("::1");
      expect(r.bytesIn).toBe(r.replies * 3000);
    } finally {
      server.kill();
    }
  },
);

test.each(["udp", "tcp"] as const)(
  "the libc engine over %s with the collector running every few ms",
  async (transport) => {
    // Memory handed to libc must outlive every call that uses it: a buffer collected under the kernel's writes
    // crashes the process, or later, something else in it.
    const collect = setInterval(() => Bun.gc(true), 3);
    try {
      const before = transport === "udp" ? udp.counters.datagramsIn : tcp.counters.bytesIn;
      const r = await runBench({
        target: { transport, host: "127.0.0.1", port: transport === "udp" ? udp.port : tcp.port },
        durationMs: 400,
        concurrency: 8,
        size: 32,
        timeoutMs: 2000,
        engine: "libc",
      });
      expect(r.errors).toBe(0);
      expect(r.replies).toBe(r.requests);
      expect(r.bytesIn).toBe(r.replies * 32);
      const after = transport === "udp" ? udp.counters.datagramsIn : tcp.counters.bytesIn;
      expect(after - before).toBe(transport === "udp" ? r.requests : r.requests * 32);
    } finally {
      clearInterval(collect);
    }
  },
);

test.each(["libc", "bun"] as const)("TCP requests larger than a socket buffer go out in parts (%s)", async (engine) => {
  const before = tcpEcho.counters.bytesIn;
  const size = 8 << 20;
  const r = await runBench({
    target: { transport: "tcp", host: "127.0.0.1", port: tcpEcho.port },
    durationMs: 300,
    concurrency: 2,
    size,
    timeoutMs: 5000,
    engine,
  });
  expect(r.errors).toBe(0);
  expect(r.replies).toBeGreaterThanOrEqual(2);
  expect(r.requests).toBe(r.replies);
  expect(r.bytesIn).toBe(r.replies * size);
  expect(tcpEcho.counters.bytesIn - before).toBe(r.requests * size);
});
