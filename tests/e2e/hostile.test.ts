// Hostile input against the compiled server: random bytes, invalid UTF-8, extreme datagrams, a client that never reads,
// slowloris, resets; it keeps serving others throughout.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { readdirSync } from "node:fs";
import { upcase } from "../../src/protocol/utf8-upper.ts";
import { tcpRequest } from "../../src/transport/tcp-client.ts";
import { udpRequest } from "../../src/transport/udp-client.ts";
import { MAX_DATAGRAM } from "../../src/transport/transport.ts";
import { compiled } from "../support/binary.ts";
import { seeded } from "../../src/relay/random.ts";
import { startServer, type Server } from "../support/run.ts";
import { figure } from "../support/figures.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const MB = 1 << 20;

let server: Server;
let tcpPort: number;
let udpPort: number;
let idleFds: number;

const rss = async () =>
  Number(/VmRSS:\s+(\d+) kB/.exec(await Bun.file(`/proc/${server.proc.pid}/status`).text())![1]) * 1024;
const fds = () => readdirSync(`/proc/${server.proc.pid}/fd`).length;

beforeAll(async () => {
  // Hostile clients from one address, in numbers: the per-address bounds (tests/abuse) are not what this file is about.
  server = await startServer(await compiled(), [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--udp-reply-rate",
    "0",
    "--max-per-address",
    "0",
  ]);
  // The two ports can differ: when the port UDP got is taken for TCP, TCP binds another.
  udpPort = Number(/udp \S*:(\d+)/.exec(server.ready)![1]);
  tcpPort = Number(/tcp \S*:(\d+)/.exec(server.ready)![1]);
  // A settle window, not a condition: the idle baseline is read once start-up is done, and nothing signals that.
  await Bun.sleep(200);
  idleFds = fds();
}, 120_000);
afterAll(() => server?.stop());

/** randomBytes draws n bytes from a seeded generator. */
function randomBytes(random: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** tcpAsk is a well-behaved client's whole exchange. */
async function tcpAsk(payload: Uint8Array, timeoutMs = 3000): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await tcpRequest({ transport: "tcp", host: "127.0.0.1", port: tcpPort }, payload, {
    timeoutMs,
    onData: (c) => chunks.push(c.slice()),
  });
  return Buffer.concat(chunks);
}

/** healthy checks that a normal client is still served, over both transports, promptly. */
async function healthy(what: string): Promise<void> {
  const tcp = await tcpAsk(enc(`tcp during ${what}`));
  expect(new TextDecoder().decode(tcp)).toBe(`TCP DURING ${what.toUpperCase()}`);
  const udp = await udpRequest({ transport: "udp", host: "127.0.0.1", port: udpPort }, enc(`udp during ${what}`), {
    timeoutMs: 1000,
    retries: 2,
  });
  expect(new TextDecoder().decode(udp.bytes)).toBe(`UDP DURING ${what.toUpperCase()}`);
  expect(server.proc.exitCode).toBeNull();
}

describe("garbage in", () => {
  test("2000 random datagrams (seeded, 0 to 1500 bytes): every reply is the uppercasing of its request", async () => {
    const random = seeded(20261124);
    const payloads = Array.from({ length: 2000 }, () => randomBytes(random, Math.floor(random() * 1501)));
    const expected = new Map<string, Uint8Array>();
    payloads.forEach((p) => expected.set(Buffer.from(p).toString("hex"), upcase(p)));
    // Replies bigger than their request (ß → SS) are rationed per source; only the others must all come.
    const unrationed = payloads.filter((p) => upcase(p).length <= p.length).length;
    let right = 0;
    let wrong = 0;
    const replies: Uint8Array[] = [];
    const sock = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data: (_s, bytes) => void replies.push(bytes.slice()),
        error() {},
      },
    });
    // In batches of 20, each waiting (50 ms at most) for its replies: loss in the socket buffers is not what this
    // measures.
    let due = 0;
    for (let k = 0; k < payloads.length; k += 20) {
      const batch = payloads.slice(k, k + 20);
      due += batch.filter((p) => upcase(p).length <= p.length).length;
      sock.sendMany(batch.flatMap((p) => [p, udpPort, "127.0.0.1"]));
      const until = performance.now() + 50;
      while (replies.length < due && performance.now() < until) await Bun.sleep(1);
    }
    const deadline = performance.now() + 2000;
    while (replies.length < unrationed && performance.now() < deadline) await Bun.sleep(20);
    sock.close();
    const wanted = new Set([...expected.values()].map((e) => Buffer.from(e).toString("hex")));
    for (const r of replies) wanted.has(Buffer.from(r).toString("hex")) ? right++ : wrong++;
    figure(
      `hostile: 2000 random datagrams, ${unrationed} with replies no bigger, ${replies.length} replies, ${wrong} wrong`,
    );
    expect(wrong).toBe(0);
    expect(right).toBeGreaterThanOrEqual(unrationed * 0.98);
    await healthy("random datagrams");
  });

  test("random byte streams over TCP (seeded, 64 KB each, 20 at once): byte-exact uppercasing", async () => {
    const random = seeded(7);
    const payloads = Array.from({ length: 20 }, () => randomBytes(random, 64 << 10));
    const replies = await Promise.all(payloads.map((p) => tcpAsk(p)));
    replies.forEach((reply, k) => expect(Buffer.from(reply).equals(upcase(payloads[k]!))).toBe(true));
    await healthy("random streams");
  });

  test.each([
    ["overlong", [0x61, 0xc0, 0xaf, 0x62]],
    ["surrogate", [0x61, 0xed, 0xa0, 0x80, 0x62]],
    ["lone continuation", [0x80, 0x61, 0xbf]],
    ["truncated 4-byte at the end", [0x61, 0xf0, 0x9f, 0x98]],
    ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80, 0x7a]],
    ["ff fe", [0xff, 0xfe, 0x71]],
    ["NUL and controls", [0x00, 0x61, 0x0d, 0x0a, 0x1b, 0x62]],
  ])("invalid UTF-8 (%s): ASCII uppercased, the rest unchanged, over UDP and TCP", async (_name, bytes) => {
    const payload = new Uint8Array(bytes);
    const want = [...payload].map((b) => (b >= 0x61 && b <= 0x7a ? b - 32 : b));
    const udp = await udpRequest({ transport: "udp", host: "127.0.0.1", port: udpPort }, payload, {
      timeoutMs: 1000,
      retries: 2,
    });
    expect([...udp.bytes]).toEqual(want);
    expect([...(await tcpAsk(payload))]).toEqual(want);
  });

  test("65507-byte and empty datagrams: answered whole and empty, 100 of each", async () => {
    const big = enc("abcdefghij".repeat(6551).slice(0, MAX_DATAGRAM));
    const target = { transport: "udp" as const, host: "127.0.0.1", port: udpPort };
    for (let k = 0; k < 100; k++) {
      const reply = await udpRequest(target, big, { timeoutMs: 1000, retries: 2 });
      expect(reply.bytes.length).toBe(MAX_DATAGRAM);
      if (k === 0) expect(Buffer.from(reply.bytes).equals(Buffer.from(upcase(big)))).toBe(true);
      const empty = await udpRequest(target, new Uint8Array(0), { timeoutMs: 1000, retries: 2 });
      expect(empty.bytes.length).toBe(0);
    }
    await healthy("extreme datagrams");
  });
});

describe("clients that abuse the connection", () => {
  test(
    "a client that sends 200 MB and never reads: the server stops reading it, stays under 200 MB, serves " + "others",
    async () => {
      const block = new Uint8Array(1 << 20).fill(0x61);
      let sent = 0;
      const sock = await Bun.connect({
        hostname: "127.0.0.1",
        port: tcpPort,
        socket: {
          data() {},
          drain(s) {
            while (sent < 200 * MB) {
              const n = s.write(block);
              if (n <= 0) return;
              sent += n;
              if (n < block.length) return;
            }
          },
        },
      });
      sock.pause();
      for (let k = 0; k < 200 && sent < 200 * MB; k++) {
        const n = sock.write(block);
        if (n <= 0) break;
        sent += n;
        if (n < block.length) break;
      }
      let peak = 0;
      // A measured window: RSS sampled every 250 ms for 1.5 s while the reader stalls.
      for (let k = 0; k < 6; k++) {
        await Bun.sleep(250);
        peak = Math.max(peak, await rss());
        await healthy("a stalled reader");
      }
      sock.terminate();
      figure(
        `hostile: never-reading client got ${(sent / MB).toFixed(1)} MB in before backpressure held it; ` +
          `server RSS peak ${(peak / MB).toFixed(1)} MB`,
      );
      // Kernel buffers on both sides hold some MB; without backpressure all 200 MB would have gone in.
      expect(sent).toBeLessThan(64 * MB);
      expect(peak).toBeLessThan(200 * MB);
    },
  );

  test(
    "slowloris: 300 connections sending one byte every 200 ms; others are served meanwhile, and each drip is " +
      "answered",
    async () => {
      const chunks = new Map<number, string>();
      const closed: Promise<void>[] = [];
      const socks: Socket<number>[] = [];
      for (let k = 0; k < 300; k++) {
        const done = Promise.withResolvers<void>();
        closed.push(done.promise);
        socks.push(
          await Bun.connect<number>({
            hostname: "127.0.0.1",
            port: tcpPort,
            allowHalfOpen: true,
            data: k,
            socket: {
              data: (s, d) => void chunks.set(s.data, (chunks.get(s.data) ?? "") + new TextDecoder().decode(d)),
              close: () => done.resolve(),
              error: () => done.resolve(),
            },
          }),
        );
      }
      for (let tick = 0; tick < 12; tick++) {
        for (const s of socks) s.write("s");
        // The drip's pace (a byte every 200 ms) is the attack, not a wait.
        await Bun.sleep(200);
        if (tick % 4 === 3) await healthy("slowloris");
      }
      for (const s of socks) s.shutdown();
      await Promise.race([Promise.all(closed), Bun.sleep(5000)]);
      const answered = socks.filter((s) => chunks.get(s.data) === "S".repeat(12)).length;
      expect(answered).toBe(300);
    },
  );

  test(
    "resets mid-stream: 300 connections that send and vanish with RST; no descriptor kept, others " + "served",
    async () => {
      const payload = new Uint8Array(32 << 10).fill(0x72);
      for (let wave = 0; wave < 3; wave++) {
        await Promise.all(
          Array.from({ length: 100 }, (_, k) =>
            Bun.connect({
              hostname: "127.0.0.1",
              port: tcpPort,
              socket: {
                open(s) {
                  s.write(payload);
                  // Half of them reset at once, half after the first bytes of the reply.
                  if (k % 2 === 0) s.terminate();
                },
                data: (s) => s.terminate(),
              },
            }).catch(() => undefined),
          ),
        );
        await healthy(`resets, wave ${wave}`);
      }
      let now = Infinity;
      for (let k = 0; k < 20 && now > idleFds + 4; k++) {
        await Bun.sleep(100);
        now = fds();
      }
      figure(`hostile: server fds idle ${idleFds}, after the resets ${now}`);
      expect(now).toBeLessThanOrEqual(idleFds + 4);
    },
  );
});
