// The UDP adapter over real loopback sockets: the uppercase server and the textbook client, IPv4 and IPv6.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { NetError, UsageError } from "../../src/errors.ts";
import { upper } from "../../src/protocol/upper.ts";
import type { Listener } from "../../src/transport/listener.ts";
import { waitFor } from "../support/wait.ts";
import { serveProtocol } from "../../src/transport/serve.ts";
import { udpRequest } from "../../src/transport/udp-client.ts";
import { MAX_DATAGRAM } from "../../src/transport/transport.ts";
import { eachUdpEngine } from "./udp-engines.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const opts = { timeoutMs: 1000, retries: 1 };

let listeners: Listener[] = [];
let port = 0;

eachUdpEngine(() => {
  beforeAll(async () => {
    listeners = await serveProtocol(upper, ["udp"], { host: "::", port: 0 });
    port = listeners[0]!.port;
  });
  afterAll(() => listeners.forEach((l) => l.stop()));

  describe("UDP upper server on all interfaces", () => {
    test.each(["127.0.0.1", "::1", "localhost"])("answers a client on %s", async (host) => {
      const reply = await udpRequest({ transport: "udp", host, port }, enc("hello, straße"), opts);
      expect(dec(reply.bytes)).toBe("HELLO, STRASSE");
      expect(reply.attempts).toBe(1);
      expect(reply.rttMs).toBeGreaterThan(0);
    });

    test("an empty datagram gets an empty reply", async () => {
      const reply = await udpRequest({ transport: "udp", host: "127.0.0.1", port }, new Uint8Array(0), opts);
      expect(reply.bytes.length).toBe(0);
    });

    test("a 65507-byte datagram comes back whole, uppercased", async () => {
      const payload = enc("abcdefghij".repeat(6551).slice(0, MAX_DATAGRAM));
      expect(payload.length).toBe(65507);
      const reply = await udpRequest({ transport: "udp", host: "127.0.0.1", port }, payload, opts);
      expect(reply.bytes.length).toBe(65507);
      expect(dec(reply.bytes)).toBe(dec(payload).toUpperCase());
    });

    test("invalid UTF-8 comes back unchanged around uppercased ASCII", async () => {
      const reply = await udpRequest({ transport: "udp", host: "::1", port }, new Uint8Array([0x61, 0xff, 0xc3]), opts);
      expect([...reply.bytes]).toEqual([0x41, 0xff, 0xc3]);
    });

    test("a request whose uppercase is too long for a datagram gets nothing, counted as a failed send", async () => {
      // --udp-excess lifted, so that the reply is refused by the kernel, not by the budget.
      const [big] = await serveProtocol(upper, ["udp"], { host: "127.0.0.1", port: 0, udpExcess: 1 << 30 });
      try {
        // "ΐ" is 2 bytes, and 6 in upper case: the reply would be 196 518 bytes.
        const payload = enc("ΐ".repeat(32_753));
        const target = { transport: "udp", host: "127.0.0.1", port: big!.port } as const;
        const err = await udpRequest(target, payload, { timeoutMs: 300, retries: 0 }).catch((e) => e);
        expect(err).toBeInstanceOf(NetError);
        expect(big!.counters).toMatchObject({ datagramsIn: 1, datagramsOut: 0, sendFailed: 1, excessLimited: 0 });
        expect(dec((await udpRequest(target, enc("after"), opts)).bytes)).toBe("AFTER");
      } finally {
        big!.stop();
      }
    });

    test("replies to clients that have gone do not stop the server", async () => {
      const c = listeners[0]!.counters;
      const before = c.datagramsOut + c.sendFailed;
      for (let k = 0; k < 200; k++) {
        const gone = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
        gone.send("bye", port, "127.0.0.1");
        gone.close();
      }
      // Every "bye" answered (or its send refused) before the client's socket is made: the kernel may give that
      // socket a port one of them had, and a late reply to it would be read as the answer (CI once read BYE).
      await waitFor("every bye answered", () => c.datagramsOut + c.sendFailed >= before + 200);
      const reply = await udpRequest({ transport: "udp", host: "127.0.0.1", port }, enc("still here"), opts);
      expect(dec(reply.bytes)).toBe("STILL HERE");
    });

    test("each datagram of a burst from one socket is answered to its sender", async () => {
      const got: string[] = [];
      const { promise, resolve } = Promise.withResolvers<void>();
      const client = await Bun.udpSocket({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          data(_s, data) {
            got.push(dec(data));
            if (got.length === 100) resolve();
          },
        },
      });
      for (let k = 0; k < 100; k++) client.send(`msg ${k}`, port, "127.0.0.1");
      const timer = setTimeout(resolve, 3000);
      await promise;
      clearTimeout(timer);
      client.close();
      expect(got.sort()).toEqual(Array.from({ length: 100 }, (_, k) => `MSG ${k}`).sort());
    });
  });
});

describe("UDP client errors", () => {
  test("a message over 65507 bytes is a usage error, before anything is sent", async () => {
    const err = await udpRequest({ transport: "udp", host: "127.0.0.1", port }, new Uint8Array(65508), opts).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    expect(String(err.message)).toContain("65507");
  });

  test("a port with nothing bound is refused at once (ICMP port unreachable)", async () => {
    const closed = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const closedPort = closed.port;
    closed.close();
    const started = performance.now();
    const err = await udpRequest({ transport: "udp", host: "127.0.0.1", port: closedPort }, enc("x"), {
      timeoutMs: 5000,
      retries: 0,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(NetError);
    expect(err.code).toBe("ECONNREFUSED");
    expect(performance.now() - started).toBeLessThan(4000);
  });

  test("a server that never answers gets the retries, then a timeout naming the tries", async () => {
    let received = 0;
    const silent = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data: () => void received++ } });
    const err = await udpRequest({ transport: "udp", host: "127.0.0.1", port: silent.port }, enc("anyone?"), {
      timeoutMs: 150,
      retries: 2,
    }).catch((e) => e);
    silent.close();
    expect(err).toBeInstanceOf(NetError);
    expect(err.message).toContain("no reply after 3 tries");
    expect(received).toBe(3);
  });

  test("a reply that comes after a retry is taken, and the attempts are counted", async () => {
    let seen = 0;
    const late = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(sock, data, rport, raddr) {
          // Drop the first datagram, as a lossy path would.
          if (++seen > 1) sock.send(data, rport, raddr);
        },
      },
    });
    const reply = await udpRequest({ transport: "udp", host: "127.0.0.1", port: late.port }, enc("again"), {
      timeoutMs: 150,
      retries: 3,
    });
    late.close();
    expect(dec(reply.bytes)).toBe("again");
    expect(reply.attempts).toBe(2);
  });
});
