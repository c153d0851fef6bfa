// serve's abuse bounds on the relay, seen from outside: connections and sessions per client address, the lifetime of
// a trickler, and the datagrams sent back to one client prefix (the reflector bound).
import { afterEach, describe, expect, test } from "bun:test";
import type { Relay } from "../../src/relay/relay.ts";
import { waitFor, within } from "../support/wait.ts";
import { Cleanup, relay, tcpClient, tcpTarget, udpClient, udpTarget } from "./harness.ts";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** SLACK_MS is what a busy two-core machine may add to any timing: timers fire late, never early. */
const SLACK_MS = 700;

const none = new Uint8Array(0);

describe("--max-per-address", () => {
  test(
    "2 over TCP: the third connection from 127.0.0.1 is closed at once, never reaches the target, and is " +
      "counted and logged; a slot given back takes the next one",
    async () => {
      const target = tcpTarget(cleanup, () => ({ silent: true }));
      const r = await relay(cleanup, { target: target.port, limits: { maxPerAddress: 2 } });
      const first = await tcpClient(cleanup, r.port, none, false);
      await tcpClient(cleanup, r.port, none, false);
      await waitFor("two connections at the target", () => target.connections.length === 2);
      const third = await tcpClient(cleanup, r.port, none, false);
      const refused = await within("the third connection's close", third.done, 3000);
      expect(refused.end).toBe("fin");
      expect(refused.bytes.length).toBe(0);
      expect(r.counters.perAddress).toBe(1);
      expect(r.events.filter((e) => e.event === "limit")).toEqual([
        { event: "limit", transport: "tcp", limit: "max-per-address", peer: "127.0.0.1", port: third.socket.localPort },
      ]);

      first.socket.terminate();
      await waitFor("the first connection's slot given back", () => r.counters.open === 1);
      await tcpClient(cleanup, r.port, none, false);
      await waitFor("the next connection at the target", () => target.connections.length === 3);
      expect(r.counters.perAddress).toBe(1);
    },
  );

  test(
    "2 over UDP: a third client port of 127.0.0.1 gets no session and no reply, counted; 127.0.0.2 still gets " +
      "through",
    async () => {
      const target = await udpTarget(cleanup);
      const r = await relay(cleanup, { transport: "udp", target: target.port, limits: { maxPerAddress: 2 } });
      const clients = [await udpClient(cleanup), await udpClient(cleanup), await udpClient(cleanup)];
      const other = await udpClient(cleanup, "127.0.0.2");
      for (const c of clients) c.send(r, "hello");
      await waitFor("three datagrams at the relay", () => r.counters.datagramsIn === 3);
      other.send(r, "hello");
      await waitFor("the other address's reply", () => other.got.length === 1);
      expect(clients.map((c) => c.got.length)).toEqual([1, 1, 0]);
      expect(r.counters.perAddress).toBe(1);
      expect(r.relay.sessions).toBe(3);
      expect(target.heard.length).toBe(3);
    },
  );
});

describe("--max-lifetime", () => {
  test("300ms over TCP: a client that trickles a byte every 50 ms is reset after about 300 ms", async () => {
    const target = tcpTarget(cleanup, () => ({ silent: true }));
    const r = await relay(cleanup, { target: target.port, limits: { maxLifetimeMs: 300, idleTimeoutMs: 100 } });
    const started = performance.now();
    const c = await tcpClient(cleanup, r.port, none, false);
    const trickle = setInterval(() => c.socket.write("."), 50);
    cleanup.add(() => clearInterval(trickle));
    const ended = await within("the reset", c.done, 3000);
    const took = ended.endedAt - started;
    expect(ended.end).toBe("reset");
    expect(took).toBeGreaterThanOrEqual(295);
    expect(took).toBeLessThan(300 + SLACK_MS);
    // The trickle kept the 100 ms idle timeout from firing: only the lifetime ended it.
    expect(target.connections[0]!.bytes.length).toBeGreaterThanOrEqual(3);
    expect(r.counters.lifetimeClosed).toBe(1);
    expect(r.counters.idleClosed).toBe(0);
    await waitFor("the close event", () => r.events.some((e) => e.event === "close"));
    expect(r.events.find((e) => e.event === "close")).toMatchObject({ reason: "lifetime" });
    expect(r.events.some((e) => e.event === "limit" && e.limit === "max-lifetime")).toBe(true);
  });

  test("300ms over UDP: a client that keeps sending gets a fresh session after about 300 ms", async () => {
    const target = await udpTarget(cleanup);
    const r = await relay(cleanup, {
      transport: "udp",
      target: target.port,
      limits: { maxLifetimeMs: 300, idleTimeoutMs: 100 },
    });
    const c = await udpClient(cleanup);
    const started = performance.now();
    c.send(r, "0");
    for (let k = 1; r.counters.lifetimeClosed === 0 && performance.now() - started < 300 + SLACK_MS; k++) {
      await Bun.sleep(50);
      c.send(r, String(k));
    }
    const took = performance.now() - started;
    expect(r.counters.lifetimeClosed).toBe(1);
    expect(took).toBeGreaterThanOrEqual(295);
    expect(r.events.find((e) => e.event === "close")).toMatchObject({ reason: "lifetime" });
    c.send(r, "after");
    await waitFor("the second session", () => r.counters.connections === 2);
    await waitFor("a second source port at the target", () => new Set(target.heard.map((h) => h.port)).size === 2);
  });
});

describe("--udp-reply-rate", () => {
  /** flood sends n datagrams from each client in bursts (the relay's receive buffer is shared with this test). */
  async function flood(r: Relay, clients: number, n: number) {
    const cs = await Promise.all(Array.from({ length: clients }, () => udpClient(cleanup)));
    const started = performance.now();
    for (let k = 0; k < n; k++) {
      for (const c of cs) c.send(r, `#${k}`);
      if (k % 25 === 24) await Bun.sleep(5);
    }
    return { cs, started };
  }

  test(
    "100 a second: three loopback client ports that send 600 datagrams in all get about 100 back each (on loopback " +
      "the bucket is an address and port's, not a prefix's); the rest are dropped and counted",
    async () => {
      const target = await udpTarget(cleanup);
      const r = await relay(cleanup, { transport: "udp", target: target.port, udpReplyRate: 100 });
      const { cs, started } = await flood(r, 3, 200);
      await waitFor("600 at the target", () => target.heard.length === 600);
      await waitFor("each reply sent or refused", () => r.counters.datagramsOut + r.counters.replyLimited === 600);
      const seconds = (performance.now() - started) / 1000;
      const out = r.counters.datagramsOut;
      expect(r.counters.replyLimited).toBe(600 - out);
      expect(r.relay.down.dropped).toBe(600 - out);
      await waitFor("the replies sent, at the clients", () => cs.reduce((n, c) => n + c.got.length, 0) === out);
      // Each port: a full bucket (a second's worth), then the rate while the flood lasted.
      for (const c of cs) {
        expect(c.got.length).toBeGreaterThanOrEqual(100);
        expect(c.got.length).toBeLessThanOrEqual(100 + Math.ceil(100 * seconds) + 1);
      }
    },
  );

  test("0: no limit, every one of 600 replies comes back", async () => {
    const target = await udpTarget(cleanup);
    const r = await relay(cleanup, { transport: "udp", target: target.port, udpReplyRate: 0 });
    const { cs } = await flood(r, 3, 200);
    await waitFor("600 replies", () => cs.reduce((n, c) => n + c.got.length, 0) === 600);
    expect(r.counters.replyLimited).toBe(0);
  });

  test("the default (serve's 1000 a second) holds when none is given", async () => {
    const target = await udpTarget(cleanup);
    const r = await relay(cleanup, { transport: "udp", target: target.port });
    const { started } = await flood(r, 1, 1600);
    await waitFor("each reply sent or refused", () => r.counters.datagramsOut + r.counters.replyLimited === 1600);
    const seconds = (performance.now() - started) / 1000;
    expect(r.counters.datagramsOut).toBeGreaterThanOrEqual(1000);
    expect(r.counters.datagramsOut).toBeLessThanOrEqual(1000 + Math.ceil(1000 * seconds) + 1);
    expect(r.counters.replyLimited).toBeGreaterThan(0);
  });

  test("--duplicate down:100% does not double the budget: each copy spends a reply", async () => {
    const target = await udpTarget(cleanup);
    const r = await relay(cleanup, { transport: "udp", target: target.port, udpReplyRate: 50, down: { duplicate: 1 } });
    const c = await udpClient(cleanup);
    const started = performance.now();
    for (let k = 0; k < 40; k++) c.send(r, `#${k}`);
    await waitFor("80 copies sent or refused", () => r.counters.datagramsOut + r.counters.replyLimited === 80);
    const seconds = (performance.now() - started) / 1000;
    expect(r.relay.duplicated).toBe(40);
    expect(r.counters.datagramsOut).toBeGreaterThanOrEqual(50);
    expect(r.counters.datagramsOut).toBeLessThanOrEqual(50 + Math.ceil(50 * seconds) + 1);
  });
});
