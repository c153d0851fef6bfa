// Each TCP fault and bound of the relay, observed from outside: by a client and a target written for the tests, with
// timings, byte counts and resets.
import { afterEach, describe, expect, test } from "bun:test";
import { parseAllowList } from "../../src/transport/allow-list.ts";
import { newBudgets } from "../../src/transport/gate.ts";
import { DEFAULT_LIMITS } from "../../src/transport/listener.ts";
import { RESET_GRACE_MS } from "../../src/relay/stream-pipe.ts";
import { freePort, fullAcceptQueue } from "../support/peers.ts";
import { waitFor, within } from "../support/wait.ts";
import { Cleanup, relay, tcpClient, tcpTarget } from "./harness.ts";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const bytes = (n: number, fill = 120) => new Uint8Array(n).fill(fill);
const text = (s: string) => new TextEncoder().encode(s);
/** SLACK_MS is what a busy two-core machine may add to any timing: timers fire late, never early. */
const SLACK_MS = 700;

describe("--delay", () => {
  test(
    "up 120ms: every connection's first byte reaches the target at least 120 ms after it was sent, and not much " +
      "later",
    async () => {
      const target = tcpTarget(cleanup, () => ({ silent: true }));
      const r = await relay(cleanup, { target: target.port, up: { delay: { ms: 120, jitterMs: 0 } } });
      const sentAt = performance.now();
      await tcpClient(cleanup, r.port, text("ping"), false);
      await waitFor("the delayed byte", () => target.connections[0]?.times.length === 1, 3000);
      const latency = target.connections[0]!.times[0]! - sentAt;
      expect(latency).toBeGreaterThanOrEqual(118);
      expect(latency).toBeLessThan(120 + SLACK_MS);
    },
  );

  test("down 100ms±60ms: latencies spread over the jitter, never below 40 ms; the stream keeps its order", async () => {
    const target = tcpTarget(cleanup, () => ({ silent: true }));
    const r = await relay(cleanup, { target: target.port, down: { delay: { ms: 100, jitterMs: 60 } }, seed: 4 });
    const client = await tcpClient(cleanup, r.port, new Uint8Array(0), false);
    await waitFor("the target's accept", () => target.sockets.length === 1);
    const sentAt: number[] = [];
    for (let k = 0; k < 30; k++) {
      target.sockets[0]!.write(new Uint8Array([k]));
      sentAt.push(performance.now());
      await Bun.sleep(15);
    }
    await waitFor("30 bytes", () => client.rec.bytes.length === 30, 5000);
    // In order, whatever the jitter drew.
    expect([...client.rec.bytes]).toEqual(Array.from({ length: 30 }, (_, k) => k));
    const latencies = client.rec.times.map((t, i) => t - sentAt[i === 0 ? 0 : sentAtIndex(client.rec.reads, i)]!);
    expect(Math.min(...latencies)).toBeGreaterThanOrEqual(38);
    // The jitter is real: a 120 ms window, and the draws do not all land together.
    expect(Math.max(...latencies) - Math.min(...latencies)).toBeGreaterThan(20);
  });
});

/** sentAtIndex is the index of the first byte of read i, from the read sizes (one byte was written each time). */
function sentAtIndex(reads: number[], i: number): number {
  return reads.slice(0, i).reduce((a, b) => a + b, 0);
}

describe("--bandwidth", () => {
  test("down 200k: 100 KB take about half a second to come back; up, unlimited, is not held", async () => {
    const down = bytes(100 << 10, 100);
    const target = tcpTarget(cleanup, () => ({ reply: down, afterFin: true }));
    const r = await relay(cleanup, { target: target.port, down: { bandwidth: 200 << 10 } });
    const started = performance.now();
    const client = await tcpClient(cleanup, r.port, bytes(100 << 10));
    const got = await within("the reply", client.done, 5000);
    const elapsed = performance.now() - started;
    expect(got.bytes.length).toBe(100 << 10);
    // 100 KB at 200 KB/s is 500 ms; the first twentieth of a second's worth goes at once.
    expect(elapsed).toBeGreaterThanOrEqual(440);
    expect(elapsed).toBeLessThan(500 + SLACK_MS);
    // Up is not paced: the request and its FIN were through long before the paced reply could be.
    expect(target.connections[0]!.endedAt - started).toBeLessThan(400);
  });
});

describe("--chunk", () => {
  test(
    "down 100: 10 KB arrive in many reads of at most a few pieces each, byte-exact; without it, in a " + "handful",
    async () => {
      const reply = Uint8Array.from({ length: 10_240 }, (_, i) => i % 251);
      const target = tcpTarget(cleanup, () => ({ reply }));
      const cut = await relay(cleanup, { target: target.port, down: { chunk: 100 } });
      const plain = await relay(cleanup, { target: target.port });
      const small = await within("the cut reply", (await tcpClient(cleanup, cut.port, new Uint8Array(0))).done, 5000);
      const whole = await within(
        "the plain reply",
        (await tcpClient(cleanup, plain.port, new Uint8Array(0))).done,
        5000,
      );
      expect(Buffer.from(small.bytes).equals(Buffer.from(reply))).toBe(true);
      expect(Buffer.from(whole.bytes).equals(Buffer.from(reply))).toBe(true);
      expect(small.reads.length).toBeGreaterThanOrEqual(30);
      expect(Math.max(...small.reads)).toBeLessThan(10_240);
      expect(whole.reads.length).toBeLessThan(10);
    },
  );
});

describe("--reset-after", () => {
  test("down 1000 bytes: the client gets exactly 1000 bytes, then a reset; the target is reset too", async () => {
    const target = tcpTarget(cleanup, () => ({ reply: bytes(100_000) }));
    const r = await relay(cleanup, { target: target.port, down: { resetAfter: { bytes: 1000 } } });
    const got = await within("the reset", (await tcpClient(cleanup, r.port, new Uint8Array(0), false)).done, 3000);
    expect(got.end).toBe("reset");
    expect(got.bytes.length).toBe(1000);
    await waitFor("the target's reset", () => target.connections[0]?.end === "reset");
    expect(r.relay.resets).toBe(1);
    await waitFor("the close event", () => r.events.some((e) => e.event === "close"));
    expect(r.events.find((e) => e.event === "close")).toMatchObject({
      reason: "fault",
      forwarded_down: 1000,
      faults: ["down reset-after 1000B"],
    });
  });

  test("300ms: a silent connection is reset about 300 ms after it opened", async () => {
    const target = tcpTarget(cleanup, () => ({ silent: true }));
    const r = await relay(cleanup, { target: target.port, up: { resetAfter: { ms: 300 } } });
    const started = performance.now();
    const got = await within("the reset", (await tcpClient(cleanup, r.port, new Uint8Array(0), false)).done, 3000);
    const elapsed = got.endedAt - started;
    expect(got.end).toBe("reset");
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(300 + SLACK_MS);
  });

  test("0: the target is reached, and the client is reset at once", async () => {
    const target = tcpTarget(cleanup, () => ({ silent: true }));
    const r = await relay(cleanup, { target: target.port, down: { resetAfter: { bytes: 0 } } });
    const started = performance.now();
    const got = await within("the reset", (await tcpClient(cleanup, r.port, text("hello"), false)).done, 3000);
    expect(got.end).toBe("reset");
    expect(got.endedAt - started).toBeLessThan(RESET_GRACE_MS + SLACK_MS);
  });
});

describe("--stall-after", () => {
  test(
    "up 64k: the target gets exactly 65536 bytes and then nothing, the client's writes stop, nothing is " + "closed",
    async () => {
      const target = tcpTarget(cleanup, () => ({ silent: true }));
      const r = await relay(cleanup, { target: target.port, up: { stallAfter: { bytes: 64 << 10 } } });
      const client = await tcpClient(cleanup, r.port, bytes(32 << 20));
      await waitFor("64 KB at the target", () => target.connections[0]?.bytes.length === 64 << 10);
      const sentThen = client.sent();
      // A measured window: nothing more reaches the target in 300 ms, and the client's writes stall.
      await Bun.sleep(300);
      expect(target.connections[0]!.bytes.length).toBe(64 << 10);
      // The relay stopped reading: what the client could write is bounded by the kernel's buffers, not 32 MB.
      expect(client.sent()).toBeLessThan(16 << 20);
      expect(client.sent() - sentThen).toBeLessThan(8 << 20);
      expect(client.rec.end).toBe("open");
      expect(target.connections[0]!.end).toBe("open");
      expect(r.relay.stalls).toBe(1);
    },
  );

  test("down 250ms: a target that talks every 20 ms is heard for about 250 ms, then not at all", async () => {
    const target = tcpTarget(cleanup, () => ({ silent: true }));
    const r = await relay(cleanup, { target: target.port, down: { stallAfter: { ms: 250 } } });
    const client = await tcpClient(cleanup, r.port, new Uint8Array(0), false);
    await waitFor("the accept", () => target.sockets.length === 1);
    const started = performance.now();
    const talker = setInterval(() => target.sockets[0]!.write("t"), 20);
    cleanup.add(() => clearInterval(talker));
    // A measured window: the target talks for 700 ms, and the client hears only the first 250.
    await Bun.sleep(700);
    clearInterval(talker);
    const last = client.rec.times.at(-1)! - started;
    expect(client.rec.bytes.length).toBeGreaterThan(3);
    expect(last).toBeLessThan(250 + 150);
    expect(client.rec.end).toBe("open");
  });
});

describe("a target that refuses or vanishes", () => {
  test("refused: the client is reset at once, and the close event says target ECONNREFUSED", async () => {
    const r = await relay(cleanup, { target: await freePort() });
    const got = await within("the reset", (await tcpClient(cleanup, r.port, text("anyone?"), false)).done, 3000);
    expect(got.end).toBe("reset");
    expect(r.relay.targetFailed).toBe(1);
    await waitFor("the close event", () => r.events.some((e) => e.event === "close"));
    expect(r.events.find((e) => e.event === "close")).toMatchObject({ reason: "target", error: "ECONNREFUSED" });
    expect(r.counters.open).toBe(0);
  });

  test(
    "a target that never accepts (its queue full, SYNs dropped): --connect-timeout 300ms resets the client, " +
      "logged as ETIMEDOUT",
    async () => {
      const queue = await fullAcceptQueue();
      cleanup.add(() => queue.stop());
      const port = queue.port;
      const r = await relay(cleanup, { target: port, connectTimeoutMs: 300 });
      const started = performance.now();
      const got = await within("the reset", (await tcpClient(cleanup, r.port, text("hello?"), false)).done, 3000);
      expect(got.end).toBe("reset");
      expect(got.endedAt - started).toBeGreaterThanOrEqual(295);
      expect(got.endedAt - started).toBeLessThan(300 + 1000 + SLACK_MS);
      await waitFor("the close event", () => r.events.some((e) => e.event === "close"));
      expect(r.events.find((e) => e.event === "close")).toMatchObject({ reason: "target", error: "ETIMEDOUT" });
      expect(r.relay.targetFailed).toBe(1);
    },
  );

  test("the target resets mid-connection: the client is reset too, after the bytes that came first", async () => {
    const target = tcpTarget(cleanup, () => ({ silent: true }));
    const r = await relay(cleanup, { target: target.port });
    const client = await tcpClient(cleanup, r.port, new Uint8Array(0), false);
    await waitFor("the accept", () => target.sockets.length === 1);
    target.sockets[0]!.write("partial");
    await waitFor("the first bytes", () => client.rec.bytes.length === 7);
    target.sockets[0]!.terminate();
    const got = await within("the reset", client.done, 3000);
    expect(got.end).toBe("reset");
    expect(new TextDecoder().decode(got.bytes)).toBe("partial");
    await waitFor("the close event", () => r.events.some((e) => e.event === "close"));
    expect(r.events.find((e) => e.event === "close")).toMatchObject({ reason: "target" });
  });

  test("the client resets: the target is reset too", async () => {
    const target = tcpTarget(cleanup, () => ({ silent: true }));
    const r = await relay(cleanup, { target: target.port });
    const client = await tcpClient(cleanup, r.port, text("bye"), false);
    await waitFor("the bytes", () => target.connections[0]?.bytes.length === 3);
    client.socket.terminate();
    await waitFor("the target's reset", () => target.connections[0]!.end === "reset");
    await waitFor("the link to go", () => r.counters.open === 0);
  });
});

describe("serve's bounds", () => {
  test(
    "--max-connections 2: a third client is closed at once, unserved, counted and logged; the two go " + "on",
    async () => {
      const target = tcpTarget(cleanup, () => ({ silent: true }));
      const r = await relay(cleanup, { target: target.port, limits: { maxConnections: 2 } });
      const held = [
        await tcpClient(cleanup, r.port, text("a"), false),
        await tcpClient(cleanup, r.port, text("b"), false),
      ];
      await waitFor("two at the target", () => target.connections.length === 2);
      const third = await within("the third's close", (await tcpClient(cleanup, r.port, text("c"), false)).done, 2000);
      expect(third.bytes.length).toBe(0);
      expect(r.counters.overLimit).toBe(1);
      expect(r.events.filter((e) => e.event === "limit")).toEqual([
        { event: "limit", transport: "tcp", limit: "max-connections", peer: "127.0.0.1", port: expect.any(Number) },
      ]);
      expect(target.connections.length).toBe(2);
      expect(held.map((c) => c.rec.end)).toEqual(["open", "open"]);
    },
  );

  test("--allow 10.0.0.0/8: a loopback client is closed at once and never reaches the target", async () => {
    const target = tcpTarget(cleanup, () => ({ silent: true }));
    const r = await relay(cleanup, { target: target.port, allow: parseAllowList(["10.0.0.0/8"]) });
    const got = await within("the close", (await tcpClient(cleanup, r.port, text("let me in"), false)).done, 2000);
    expect(got.bytes.length).toBe(0);
    expect(r.counters.denied).toBe(1);
    expect(target.connections.length).toBe(0);
  });

  test(
    "--idle-timeout 200ms: a connection where nothing moves is closed after about that long, both " + "sides",
    async () => {
      const target = tcpTarget(cleanup, () => ({ silent: true }));
      const r = await relay(cleanup, { target: target.port, limits: { idleTimeoutMs: 200 } });
      const started = performance.now();
      const got = await within(
        "the idle close",
        (await tcpClient(cleanup, r.port, new Uint8Array(0), false)).done,
        3000,
      );
      expect(got.endedAt - started).toBeGreaterThanOrEqual(195);
      expect(got.endedAt - started).toBeLessThan(200 + SLACK_MS);
      await waitFor("the target's close", () => target.connections[0]?.end !== "open");
      expect(r.counters.idleClosed).toBe(1);
      expect(r.events.find((e) => e.event === "close")).toMatchObject({ reason: "idle" });
    },
  );

  test(
    "--max-pending 64k against a target that does not read: the relay holds at most that much, the client is " +
      "slowed, not buffered",
    async () => {
      // Paused at its accept, not after: under load, the turns between the two let tens of MB through.
      const target = tcpTarget(cleanup, () => ({ silent: true, paused: true }));
      const limits = { ...DEFAULT_LIMITS, maxPending: 64 << 10 };
      const budgets = newBudgets({ limits });
      const { output } = budgets;
      const r = await relay(cleanup, { target: target.port, limits, budgets });
      const client = await tcpClient(cleanup, r.port, bytes(64 << 20));
      await waitFor("the accept", () => target.sockets.length === 1);
      let most = 0;
      for (let k = 0; k < 40; k++) {
        most = Math.max(most, output.queued);
        await Bun.sleep(10);
      }
      // One read past the bound at most (Bun reads up to 512 KB at a time); the rest waits in the kernels' buffers, or
      // the client.
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual((64 << 10) + (512 << 10));
      expect(client.sent()).toBeLessThan(32 << 20);
      expect(r.relay.up.received).toBeLessThan(32 << 20);
    },
  );
});
