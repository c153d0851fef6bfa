// The UDP relay seen from outside: a session per client port, its bounds (session limit, idle timeout, --max-pending),
// a refusing target, and each datagram fault by count and time.
import { afterEach, describe, expect, test } from "bun:test";
import { freePort } from "../support/peers.ts";
import type { DirectionFaults } from "../../src/relay/faults.ts";
import type { Limits } from "../../src/transport/listener.ts";
import { SERVICE_PORTS_ABOVE_1023 } from "../../src/transport/reflection.ts";
import { waitFor } from "../support/wait.ts";
import { Cleanup, relay, udpClient as harnessUdpClient, udpTarget as harnessUdpTarget } from "./harness.ts";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** SLACK_MS is what a busy two-core machine may add to any timing: timers fire late, never early. */
const SLACK_MS = 700;

const udpTarget = (answer = true) => harnessUdpTarget(cleanup, answer);
const udpClient = () => harnessUdpClient(cleanup);

async function udpRelay(
  target: number,
  faults: { up?: DirectionFaults; down?: DirectionFaults; seed?: number } = {},
  limits?: Partial<Limits>,
) {
  return relay(cleanup, { transport: "udp", target, ...faults, limits });
}

const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("sessions", () => {
  test(
    "three clients: three sessions, three source ports at the target, each client hears only its own " + "replies",
    async () => {
      const target = await udpTarget();
      const r = await udpRelay(target.port);
      const clients = [await udpClient(), await udpClient(), await udpClient()];
      for (const [k, c] of clients.entries()) for (let n = 0; n < 3; n++) c.send(r, `client ${k} #${n}`);
      await waitFor("nine replies", () => clients.every((c) => c.got.length === 3));
      clients.forEach((c, k) =>
        expect(c.got.map((g) => str(g.bytes)).sort()).toEqual([0, 1, 2].map((n) => `re:client ${k} #${n}`)),
      );
      expect(new Set(target.heard.map((h) => h.port)).size).toBe(3);
      expect(r.counters.connections).toBe(3);
      expect(r.relay.sessions).toBe(3);
    },
  );

  test(
    "a flood from 300 source ports with --max-connections 8: 8 sessions, the rest refused and counted, the " +
      "target sees 8 ports",
    async () => {
      const target = await udpTarget();
      const r = await udpRelay(target.port, {}, { maxConnections: 8 });
      const clients = await Promise.all(Array.from({ length: 300 }, () => udpClient()));
      // In bursts, so the relay's own receive buffer (shared with this test's event loop) does not overflow.
      for (const [k, c] of clients.entries()) {
        c.send(r, "flood");
        if (k % 50 === 49) await Bun.sleep(5);
      }
      await waitFor("300 datagrams at the relay", () => r.counters.datagramsIn === 300);
      await waitFor("8 datagrams at the target", () => target.heard.length === 8);
      expect(r.relay.sessions).toBe(8);
      // An ephemeral port can be a listed service port (Jenkins' 33848 is in Linux's range): refused as reflection, not
      // by the limit.
      expect(r.counters.overLimit + r.counters.reflected).toBe(292);
      expect(new Set(target.heard.map((h) => h.port)).size).toBe(8);
      expect(r.events.filter((e) => e.event === "limit").length).toBe(r.counters.overLimit);
    },
  );

  test(
    "--idle-timeout 200ms: a quiet session ends after about that long; the next datagram starts " + "another",
    async () => {
      const target = await udpTarget();
      const r = await udpRelay(target.port, {}, { idleTimeoutMs: 200 });
      const c = await udpClient();
      const started = performance.now();
      c.send(r, "one");
      await waitFor("the idle close", () => r.events.some((e) => e.event === "close"), 3000);
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(195);
      expect(elapsed).toBeLessThan(200 + SLACK_MS);
      expect(r.events.find((e) => e.event === "close")).toMatchObject({
        reason: "idle",
        datagrams_in: 1,
        datagrams_out: 1,
      });
      expect(r.relay.sessions).toBe(0);
      c.send(r, "two");
      await waitFor("the second reply", () => c.got.length === 2);
      expect(r.counters.connections).toBe(2);
    },
  );

  test(
    "a target with nothing listening: the ICMP refusal ends the session, logged as target " + "ECONNREFUSED",
    async () => {
      const r = await udpRelay(await freePort("udp"));
      const c = await udpClient();
      c.send(r, "anyone?");
      await waitFor("the session's end", () => r.events.some((e) => e.event === "close"));
      expect(r.events.find((e) => e.event === "close")).toMatchObject({ reason: "target", error: "ECONNREFUSED" });
      expect(r.relay.targetFailed).toBe(1);
      expect(c.got.length).toBe(0);
    },
  );
});

describe("datagram faults", () => {
  const numbered = (n: number) => Array.from({ length: n }, (_, k) => `#${k}`);

  test(
    "--loss up:30% over 300 datagrams: about 30% never reach the target; the same seed loses the very same " + "ones",
    async () => {
      const heardWith = async (seed: number) => {
        const target = await udpTarget(false);
        const r = await udpRelay(target.port, { up: { loss: 0.3 }, seed });
        const c = await udpClient();
        for (const m of numbered(300)) {
          c.send(r, m);
          if (Number(m.slice(1)) % 50 === 49) await Bun.sleep(2);
        }
        await waitFor("300 at the relay", () => r.relay.up.received === 300);
        await waitFor("the forwarded ones", () => target.heard.length === r.relay.up.forwarded);
        expect(r.relay.up.dropped + r.relay.up.forwarded).toBe(300);
        return target.heard.map((h) => str(h.bytes));
      };
      const first = await heardWith(99);
      const again = await heardWith(99);
      const other = await heardWith(100);
      expect(first.length).toBeGreaterThan(300 * 0.55);
      expect(first.length).toBeLessThan(300 * 0.85);
      expect(again).toEqual(first);
      expect(other).not.toEqual(first);
    },
  );

  test("--loss 100%: nothing gets through either way", async () => {
    const target = await udpTarget();
    const r = await udpRelay(target.port, { up: { loss: 1 } });
    const c = await udpClient();
    for (const m of numbered(20)) c.send(r, m);
    await waitFor("20 dropped", () => r.relay.up.dropped === 20);
    expect(target.heard.length).toBe(0);
  });

  test("--duplicate up:100%: the target hears every datagram twice, and the client hears both answers", async () => {
    const target = await udpTarget();
    const r = await udpRelay(target.port, { up: { duplicate: 1 } });
    const c = await udpClient();
    for (const m of numbered(5)) c.send(r, m);
    await waitFor("ten replies", () => c.got.length === 10);
    expect(target.heard.map((h) => str(h.bytes))).toEqual(numbered(5).flatMap((m) => [m, m]));
    expect(r.relay.duplicated).toBe(5);
  });

  test("--reorder up:3: datagrams go in threes, newest first", async () => {
    const target = await udpTarget(false);
    const r = await udpRelay(target.port, { up: { reorder: 3 } });
    const c = await udpClient();
    for (const m of numbered(6)) c.send(r, m);
    await waitFor("six at the target", () => target.heard.length === 6);
    expect(target.heard.map((h) => str(h.bytes))).toEqual(["#2", "#1", "#0", "#5", "#4", "#3"]);
    expect(r.relay.reordered).toBe(2);
  });

  test("--delay up:150ms: each datagram reaches the target at least 150 ms after it was sent", async () => {
    const target = await udpTarget(false);
    const r = await udpRelay(target.port, { up: { delay: { ms: 150, jitterMs: 0 } } });
    const c = await udpClient();
    const sent: number[] = [];
    for (const m of numbered(3)) {
      c.send(r, m);
      sent.push(performance.now());
    }
    await waitFor("three at the target", () => target.heard.length === 3);
    target.heard.forEach((h, k) => {
      expect(h.at - sent[k]!).toBeGreaterThanOrEqual(148);
      expect(h.at - sent[k]!).toBeLessThan(150 + SLACK_MS);
    });
  });

  test("--bandwidth up:40k: 20 datagrams of 1000 bytes are spread over about half a second", async () => {
    const target = await udpTarget(false);
    const r = await udpRelay(target.port, { up: { bandwidth: 40_000 } });
    const c = await udpClient();
    const started = performance.now();
    for (let k = 0; k < 20; k++) c.send(r, new Uint8Array(1000).fill(k));
    await waitFor("twenty at the target", () => target.heard.length === 20, 5000);
    const span = target.heard.at(-1)!.at - started;
    // The first goes at once; each after it waits its 1000 bytes' share of 40 000 a second (25 ms).
    expect(span).toBeGreaterThanOrEqual(19 * 25 - 10);
    expect(span).toBeLessThan(19 * 25 + SLACK_MS);
  });

  test("--stall-after up:3000: three 1000-byte datagrams pass, then none", async () => {
    const target = await udpTarget(false);
    const r = await udpRelay(target.port, { up: { stallAfter: { bytes: 3000 } } });
    const c = await udpClient();
    for (let k = 0; k < 10; k++) c.send(r, new Uint8Array(1000).fill(k));
    await waitFor("ten at the relay", () => r.relay.up.received === 10);
    await waitFor("three at the target", () => target.heard.length === 3);
    expect(r.relay.up.dropped).toBe(7);
    expect(r.relay.stalls).toBe(1);
  });

  test(
    "--max-pending 10k with a 300 ms delay: at most 10 KB wait, the datagrams past it are dropped, not " + "held",
    async () => {
      const target = await udpTarget(false);
      const r = await udpRelay(target.port, { up: { delay: { ms: 300, jitterMs: 0 } } }, { maxPending: 10_000 });
      const c = await udpClient();
      for (let k = 0; k < 50; k++) c.send(r, new Uint8Array(1000).fill(k));
      await waitFor("fifty at the relay", () => r.relay.up.received === 50);
      expect(r.relay.up.dropped).toBe(40);
      await waitFor("the ten held ones, late", () => target.heard.length === 10);
    },
  );
});

describe("reflection", () => {
  test(
    "a datagram from a service source port (SSDP, memcached, upcat's own...) is never relayed, only " + "counted",
    async () => {
      const target = await udpTarget();
      const r = await udpRelay(target.port);
      // Any one of the listed ports will do; a test cannot count on a particular one being free.
      let from: Bun.udp.Socket<"buffer"> | undefined;
      for (const port of SERVICE_PORTS_ABOVE_1023) {
        from = await Bun.udpSocket({ hostname: "127.0.0.1", port, socket: { data() {}, error() {} } }).catch(
          () => undefined,
        );
        if (from) break;
      }
      if (!from) throw new Error("every listed service port is taken on 127.0.0.1");
      const sock = from;
      cleanup.add(() => sock.close());
      sock.send(Buffer.from("loop?"), r.port, "127.0.0.1");
      await waitFor("the refusal to be counted", () => r.counters.reflected === 1);
      expect(target.heard.length).toBe(0);
      expect(r.counters.connections).toBe(0);
    },
  );
});
