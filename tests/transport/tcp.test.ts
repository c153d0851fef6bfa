// The TCP adapter over real loopback sockets: bytes back as they arrive, half-close, backpressure, IPv4 and IPv6.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { NetError } from "../../src/errors.ts";
import { upper } from "../../src/protocol/upper.ts";
import type { Listener } from "../../src/transport/listener.ts";
import { serveProtocol } from "../../src/transport/serve.ts";
import { tcpRequest } from "../../src/transport/tcp-client.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

let listeners: Listener[] = [];
let port = 0;

beforeAll(async () => {
  listeners = await serveProtocol(upper, ["tcp"], { host: "::", port: 0 });
  port = listeners[0]!.port;
});
afterAll(() => listeners.forEach((l) => l.stop()));

/** ask runs the textbook exchange through the client adapter and returns the whole reply. */
async function ask(host: string, payload: Uint8Array | string, timeoutMs = 2000) {
  const chunks: Uint8Array[] = [];
  const result = await tcpRequest(
    { transport: "tcp", host, port },
    typeof payload === "string" ? enc(payload) : payload,
    {
      timeoutMs,
      onData: (c) => chunks.push(c.slice()),
    },
  );
  return { result, reply: Buffer.concat(chunks) };
}

/** RawClient is a socket under the test's own control, recording what arrives and when the server closes. */
interface RawClient {
  sock: Socket;
  received(): string;
  waitFor(text: string, ms?: number): Promise<void>;
  closed: Promise<void>;
}

async function rawClient(host = "127.0.0.1"): Promise<RawClient> {
  const chunks: Uint8Array[] = [];
  let waiter: (() => void) | undefined;
  const closed = Promise.withResolvers<void>();
  const sock = await Bun.connect({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: {
      data(_s, d) {
        chunks.push(d.slice());
        waiter?.();
      },
      end: () => closed.resolve(),
      close: () => closed.resolve(),
    },
  });
  const received = () => dec(Buffer.concat(chunks));
  return {
    sock,
    received,
    closed: closed.promise,
    async waitFor(text, ms = 2000) {
      const deadline = Date.now() + ms;
      while (!received().includes(text) && Date.now() < deadline) {
        await new Promise<void>((r) => {
          waiter = r;
          setTimeout(r, 50);
        });
      }
      expect(received()).toContain(text);
    },
  };
}

describe("TCP upper server", () => {
  test.each(["127.0.0.1", "::1", "localhost"])("answers the textbook client on %s", async (host) => {
    const { result, reply } = await ask(host, "hello, straße ﬁ");
    expect(dec(reply)).toBe("HELLO, STRASSE FI");
    expect(result.bytes).toBe(reply.length);
  });

  test("an empty request gets an empty reply and a close", async () => {
    const { reply } = await ask("127.0.0.1", "");
    expect(reply.length).toBe(0);
  });

  test("bytes come back as they arrive, with no newline and no half-close", async () => {
    const c = await rawClient();
    c.sock.write("no newline here");
    await c.waitFor("NO NEWLINE HERE");
    c.sock.write(" and more");
    await c.waitFor("NO NEWLINE HERE AND MORE");
    c.sock.end();
  });

  test("a character split across two writes is uppercased as one", async () => {
    const c = await rawClient("::1");
    const bytes = enc("ßx");
    c.sock.write(bytes.subarray(0, 1));
    await Bun.sleep(50);
    c.sock.write(bytes.subarray(1));
    await c.waitFor("SSX");
    c.sock.shutdown();
    await c.closed;
    expect(c.received()).toBe("SSX");
  });

  test("the server closes after the client half-closes and all output is written", async () => {
    const c = await rawClient();
    c.sock.write("bye");
    c.sock.shutdown();
    await c.closed;
    expect(c.received()).toBe("BYE");
  });

  test("many clients at once are each served on their own connection", async () => {
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, k) => ask(k % 2 ? "127.0.0.1" : "::1", `client ${k}`)),
    );
    replies.forEach(({ reply }, k) => expect(dec(reply)).toBe(`CLIENT ${k}`));
  });

  test("a 48 MB stream to a slow reader comes back byte-exact (backpressure, no loss)", async () => {
    const unit = enc("abcdefgh한국어 straße\n"); // multi-byte characters fall across chunk edges
    const total = 48 << 20;
    const chunks: Uint8Array[] = [];
    let received = 0;
    let paused = false;
    const closed = Promise.withResolvers<void>();
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      allowHalfOpen: true,
      socket: {
        data(s, d) {
          received += d.length;
          if (chunks.length < 4) chunks.push(d.slice());
          // Stop reading for 300 ms once, so the server's writes back up: the stall is the test, not a condition.
          if (!paused && received > 1 << 20) {
            paused = true;
            s.pause();
            setTimeout(() => s.resume(), 300);
          }
        },
        drain: (s) => pump(s),
        end: () => closed.resolve(),
        close: () => closed.resolve(),
      },
    });
    const block = Buffer.concat(Array.from({ length: Math.ceil(65536 / unit.length) }, () => unit));
    let sent = 0;
    let offset = 0;
    function pump(s: Socket) {
      while (sent < total) {
        const piece = block.subarray(offset);
        const n = s.write(piece);
        if (n <= 0) return;
        sent += n;
        offset = (offset + n) % block.length;
        if (n < piece.length) return;
      }
      s.shutdown();
    }
    // Send a whole number of blocks so the expected reply length is known exactly.
    const want = Math.floor(total / block.length) * block.length;
    sent = total - want;
    pump(sock);
    await closed.promise;
    const upperBlock = Buffer.from(dec(block).toUpperCase());
    expect(received).toBe((want / block.length) * upperBlock.length);
    expect(Buffer.concat(chunks).subarray(0, 1000)).toEqual(Buffer.concat([upperBlock, upperBlock]).subarray(0, 1000));
  }, 60_000);
});

describe("TCP client errors", () => {
  test("a refused connection is data: the operation, the address and the code; the cli adds the hint", async () => {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const closedPort = probe.port;
    probe.stop(true);
    const err = await tcpRequest({ transport: "tcp", host: "127.0.0.1", port: closedPort }, enc("x"), {
      timeoutMs: 2000,
      onData() {},
    }).catch((e) => e);
    expect(err).toBeInstanceOf(NetError);
    expect(err).toMatchObject({
      op: "connect",
      transport: "tcp",
      address: `127.0.0.1:${closedPort}`,
      code: "ECONNREFUSED",
      hint: undefined,
    });
    expect(err.message).toBe(`connect tcp 127.0.0.1:${closedPort}: connection refused`);
  });

  test("a server that accepts and never answers times out on the read", async () => {
    // It keeps every connection open after the client half-closes: a half-open server.
    const mute = Bun.listen({ hostname: "127.0.0.1", port: 0, allowHalfOpen: true, socket: { data() {}, end() {} } });
    const started = performance.now();
    const err = await tcpRequest({ transport: "tcp", host: "127.0.0.1", port: mute.port }, enc("x"), {
      timeoutMs: 300,
      onData() {},
    }).catch((e) => e);
    mute.stop(true);
    expect(err).toBeInstanceOf(NetError);
    expect(err.op).toBe("read");
    expect(err.message).toContain("timed out after 300ms");
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
