// Property: with no fault the relay is byte-transparent, both ways, with half-close in either order, over TCP and UDP,
// IPv4 and IPv6.
import { afterEach, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { seeded } from "../../src/relay/random.ts";
import { waitFor, within } from "../support/wait.ts";
import { Cleanup, relay, type TargetBehaviour, tcpClient, tcpTarget } from "./harness.ts";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/**
 * bytes makes a payload of arbitrary content and size: a random block, repeated, so the large ones are cheap to draw
 * yet not uniform.
 */
const payload = fc
  .tuple(
    fc.uint8Array({ maxLength: 3000, size: "max" }),
    fc.oneof(fc.constant(1), fc.noBias(fc.integer({ min: 1, max: 300 }))),
    fc.integer(),
  )
  .map(([block, times, salt]) => {
    if (block.length === 0) return block;
    const out = new Uint8Array(block.length * times);
    for (let i = 0; i < times; i++) out.set(block, i * block.length);
    // A salted byte per block, so a relay that mixed up blocks would be caught.
    const random = seeded(salt);
    for (let i = 0; i < times; i++) out[i * block.length] = Math.floor(random() * 256);
    return out;
  });

describe("TCP: byte-transparent both ways with half-close", () => {
  test.each([
    ["IPv4", "127.0.0.1"],
    ["IPv6", "::1"],
  ])(
    "%s: arbitrary data up and down; the target replies at once or only after the client's FIN",
    async (_name, host) => {
      let plan: TargetBehaviour = {};
      const target = tcpTarget(cleanup, () => plan, host);
      // A small --max-pending, so the large cases go through the relay's backpressure, not around it.
      const r = await relay(cleanup, {
        target: target.port,
        targetHost: host,
        listenHost: host,
        limits: { maxPending: 16 << 10 },
      });
      let runs = 0;
      let moved = 0;
      await fc.assert(
        fc.asyncProperty(payload, payload, fc.boolean(), async (up, down, afterFin) => {
          plan = { reply: down, afterFin };
          const before = target.connections.length;
          const client = await tcpClient(cleanup, r.port, up, true, host);
          const got = await within("the client's end", client.done, 10_000);
          await waitFor("the target's FIN", () => target.connections[before]?.end === "fin");
          const atTarget = target.connections[before]!;
          runs++;
          moved += up.length + down.length;
          // Every byte, in order, each way; each side saw a FIN (not a reset).
          expect(got.end).toBe("fin");
          expect(Buffer.compare(Buffer.from(atTarget.bytes), Buffer.from(up))).toBe(0);
          expect(Buffer.compare(Buffer.from(got.bytes), Buffer.from(down))).toBe(0);
        }),
        { numRuns: 40, seed: 17 },
      );
      expect(runs).toBe(40);
      // The cases reach well past --max-pending and the kernel's buffers, so backpressure was exercised.
      expect(moved).toBeGreaterThan(4 << 20);
      await waitFor("every relayed connection to close", () => r.counters.open === 0);
      expect(r.events.filter((e) => e.event === "close").every((e) => e.event === "close" && e.reason === "done")).toBe(
        true,
      );
      expect(r.relay.up.dropped + r.relay.down.dropped).toBe(0);
    },
    60_000,
  );
});

describe("UDP: byte-transparent both ways", () => {
  test.each([
    ["IPv4", "127.0.0.1"],
    ["IPv6", "::1"],
  ])(
    "%s: arbitrary datagrams (empty to 8 KB) each reach the target whole, and each reply comes back whole",
    async (_name, host) => {
      const received: Uint8Array[] = [];
      // The target answers each datagram with its bytes reversed, so a reply is not its request.
      const target = await Bun.udpSocket({
        hostname: host,
        port: 0,
        socket: {
          data(sock, message, port, address) {
            received.push(new Uint8Array(message));
            sock.send(new Uint8Array(message).reverse(), port, address);
          },
          error() {},
        },
      });
      cleanup.add(() => target.close());
      const r = await relay(cleanup, { transport: "udp", target: target.port, targetHost: host, listenHost: host });
      const replies: Uint8Array[] = [];
      const client = await Bun.udpSocket({
        hostname: host,
        port: 0,
        socket: { data: (_s, message) => void replies.push(new Uint8Array(message)), error() {} },
      });
      cleanup.add(() => client.close());
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.uint8Array({ maxLength: 8192 }), { minLength: 1, maxLength: 5 }),
          async (datagrams) => {
            received.length = 0;
            replies.length = 0;
            for (const [i, d] of datagrams.entries()) {
              client.send(d, r.port, host);
              // One at a time: UDP on loopback keeps them, and order is then the order sent.
              await waitFor("the reply", () => replies.length === i + 1);
            }
            expect(received.map((b) => Buffer.from(b).toString("hex"))).toEqual(
              datagrams.map((b) => Buffer.from(b).toString("hex")),
            );
            expect(replies.map((b) => Buffer.from(b).toString("hex"))).toEqual(
              datagrams.map((b) => Buffer.from(b).reverse().toString("hex")),
            );
          },
        ),
        { numRuns: 30, seed: 23 },
      );
      // One client address and port: one session, however many datagrams.
      expect(r.counters.connections).toBe(1);
    },
    60_000,
  );
});
