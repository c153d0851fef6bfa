// Every protocol over real UDP and TCP loopback sockets, server and client through the same adapters.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chargenLine } from "../../src/protocol/chargen.ts";
import { protocols } from "../../src/protocol/index.ts";
import type { Protocol } from "../../src/protocol/protocol.ts";
import { readTime, timeToDate } from "../../src/protocol/time.ts";
import { parseAllowList } from "../../src/transport/allow-list.ts";
import type { Listener } from "../../src/transport/listener.ts";
import { request } from "../../src/transport/request.ts";
import { serveProtocol } from "../../src/transport/serve.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { waitFor } from "../support/wait.ts";
import { eachUdpEngine } from "./udp-engines.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const running: Listener[] = [];
const ports: Record<string, number> = {};
eachUdpEngine(() => {
  beforeAll(async () => {
    for (const p of Object.values(protocols)) {
      const listeners = await serveProtocol(p, ["udp", "tcp"], { host: "::", port: 0 });
      running.push(...listeners);
      ports[p.name] = listeners[0]!.port;
    }
  });
  afterAll(() => running.forEach((l) => l.stop()));

  /** ask runs one exchange as `upcat send --protocol` does and returns the whole reply. */
  async function ask(
    protocol: Protocol,
    transport: Transport,
    payload = new Uint8Array(0),
    host = "127.0.0.1",
    maxBytes?: number,
  ) {
    const chunks: Uint8Array[] = [];
    const result = await request({ transport, host, port: ports[protocol.name]! }, payload, {
      timeoutMs: 2000,
      retries: 0,
      role: protocol.client,
      maxBytes,
      onData: (c) => chunks.push(c.slice()),
    });
    return { result, reply: Buffer.concat(chunks) };
  }

  describe.each(["udp", "tcp"] as const)("over %s", (transport) => {
    test.each(["127.0.0.1", "::1"])("echo from %s", async (host) => {
      const { reply } = await ask(protocols.echo, transport, enc("Echo ß!"), host);
      expect(dec(reply)).toBe("Echo ß!");
    });

    test("discard takes the message and sends nothing", async () => {
      const { reply, result } = await ask(protocols.discard, transport, enc("into the void"));
      expect(reply.length).toBe(0);
      expect(result.bytes).toBe(0);
    });

    test("daytime answers with the date as text", async () => {
      const { reply } = await ask(protocols.daytime, transport);
      expect(dec(reply)).toMatch(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/);
    });

    test("time answers with 4 bytes that read as now", async () => {
      const { reply } = await ask(protocols.time, transport, new Uint8Array(0), "::1");
      expect(reply.length).toBe(4);
      expect(Math.abs(timeToDate(readTime(reply)).getTime() - Date.now())).toBeLessThan(2000);
    });

    test("qotd answers with one quote under 512 bytes", async () => {
      const { reply } = await ask(protocols.qotd, transport);
      expect(reply.length).toBeGreaterThan(0);
      expect(reply.length).toBeLessThan(512);
      expect(protocols.qotd.client.verify(reply, new Uint8Array(0))).toBeUndefined();
    });

    test("upper still uppercases", async () => {
      const { reply } = await ask(protocols.upper, transport, enc("still ß"));
      expect(dec(reply)).toBe("STILL SS");
    });
  });

  describe("chargen", () => {
    test("over UDP: one line a datagram", async () => {
      const { reply } = await ask(protocols.chargen, "udp");
      expect(reply.length).toBe(74);
      expect(protocols.chargen.client.verify(reply, new Uint8Array(0))).toBeUndefined();
    });

    test("over TCP: the pattern until the client has had --bytes, then the client closes", async () => {
      const { reply } = await ask(protocols.chargen, "tcp", new Uint8Array(0), "127.0.0.1", 74 * 300 + 10);
      expect(reply.length).toBe(74 * 300 + 10);
      const expected = Buffer.concat(Array.from({ length: 301 }, (_, n) => chargenLine(n % 95)));
      expect(reply.equals(expected.subarray(0, reply.length))).toBe(true);
    });

    test("over TCP: a client that stops reading is not buffered for, and the stream resumes seamlessly", async () => {
      let received = 0;
      const head: Uint8Array[] = [];
      const done = Promise.withResolvers<void>();
      const sock = await Bun.connect({
        hostname: "127.0.0.1",
        port: ports.chargen!,
        socket: {
          data(s, d) {
            if (received < 200_000) head.push(d.slice());
            received += d.length;
            if (received >= 20 << 20) {
              s.end();
              done.resolve();
            }
          },
        },
      });
      sock.pause();
      // A pause of half a second, so the server's writes back up: the stall is the test, not a condition.
      await Bun.sleep(500);
      sock.resume();
      await done.promise;
      const got = Buffer.concat(head);
      const cycle = Buffer.concat(Array.from({ length: 95 }, (_, n) => chargenLine(n)));
      for (let off = 0; off + cycle.length <= got.length; off += cycle.length) {
        expect(got.subarray(off, off + cycle.length).equals(cycle)).toBe(true);
      }
    });
  });

  describe("safety on real sockets", () => {
    /** burst sends `count` datagrams from `sockets` source ports on `source`, and counts the replies soon after. */
    async function burst(port: number, source: string, sockets: number, count: number): Promise<number> {
      let replies = 0;
      const socks = await Promise.all(
        Array.from({ length: sockets }, () =>
          Bun.udpSocket({ hostname: source, port: 0, socket: { data: () => void replies++ } }),
        ),
      );
      for (let k = 0; k < count; k++) socks[k % sockets]!.send(new Uint8Array(0), port, "127.0.0.1");
      // A measured window: the replies that come in 300 ms are counted; a rationed one never comes.
      await Bun.sleep(300);
      socks.forEach((s) => s.close());
      return replies;
    }

    test("amplifying UDP replies are rationed per source address, across source ports; others are not", async () => {
      const [udp] = await serveProtocol(protocols.chargen, ["udp"], { host: "127.0.0.1", port: 0, udpRate: 5 });
      const [echoUdp] = await serveProtocol(protocols.echo, ["udp"], { host: "127.0.0.1", port: 0, udpRate: 5 });
      try {
        const flooder = await burst(udp!.port, "127.0.0.2", 20, 200);
        // Another /24: buckets are kept per prefix, and the flooder's is 127.0.0.0/24.
        const bystander = await burst(udp!.port, "127.0.1.3", 1, 3);
        expect(flooder).toBeGreaterThanOrEqual(5);
        expect(flooder).toBeLessThanOrEqual(8);
        expect(bystander).toBe(3);
        expect(udp!.counters.rateLimited).toBe(200 - flooder);
        // An empty echo reply is no bigger than its request: never rationed.
        expect(await burst(echoUdp!.port, "127.0.0.2", 20, 200)).toBe(200);
        expect(echoUdp!.counters.rateLimited).toBe(0);
      } finally {
        udp!.stop();
        echoUdp!.stop();
      }
    });

    test("--allow: others get no UDP reply and an immediate TCP close, counted", async () => {
      const listeners = await serveProtocol(protocols.echo, ["udp", "tcp"], {
        host: "::",
        port: 0,
        allow: parseAllowList(["127.0.0.2", "::1"]),
      });
      const port = listeners[0]!.port;
      try {
        let allowed = 0;
        const ok = await Bun.udpSocket({ hostname: "127.0.0.2", port: 0, socket: { data: () => void allowed++ } });
        ok.send("x", port, "127.0.0.1");
        let denied = 0;
        const no = await Bun.udpSocket({ hostname: "127.0.0.3", port: 0, socket: { data: () => void denied++ } });
        for (let k = 0; k < 4; k++) no.send("x", port, "127.0.0.1");
        // The verdict on each datagram is made as it is read: once all five are counted, no other reply can come.
        await waitFor(
          "the allowed reply and all five datagrams counted",
          () => allowed === 1 && listeners[0]!.counters.datagramsIn >= 5,
        );
        ok.close();
        no.close();
        expect([allowed, denied]).toEqual([1, 0]);
        expect(listeners[0]!.counters.denied).toBe(4);

        const six = await request({ transport: "tcp", host: "::1", port }, enc("welcome"), {
          timeoutMs: 2000,
          retries: 0,
          onData() {},
        });
        expect(six.bytes).toBe(7);
        const closedAtOnce = await request({ transport: "tcp", host: "127.0.0.1", port }, enc("let me in"), {
          timeoutMs: 2000,
          retries: 0,
          onData() {},
        });
        expect(closedAtOnce.bytes).toBe(0);
        expect(listeners[1]!.counters.denied).toBe(1);
      } finally {
        listeners.forEach((l) => l.stop());
      }
    });

    test("a datagram from a simple-service port is never answered (the chargen-echo loop)", async () => {
      if (process.getuid?.() !== 0)
        throw new Error("binding source port 19 needs root; run the suite as root, as CI does");
      const [udp] = await serveProtocol(protocols.echo, ["udp"], { host: "127.0.0.1", port: 0 });
      try {
        let replies = 0;
        const forged = await Bun.udpSocket({ hostname: "127.0.0.1", port: 19, socket: { data: () => void replies++ } });
        forged.send("loop", udp!.port, "127.0.0.1");
        // Refused as it is read: once counted, no reply can follow.
        await waitFor("the forged datagram counted", () => udp!.counters.reflected === 1);
        forged.close();
        expect(replies).toBe(0);
        expect(udp!.counters.reflected).toBe(1);
      } finally {
        udp!.stop();
      }
    });
  });
});
