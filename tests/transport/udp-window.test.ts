// send's UDP window on each engine, called in process against the textbook's UDPServer.py: replies in the order of
// the lines, the largest datagram whole, a refused port and a line too long for a datagram reported as the other
// engine reports them; and replies that come twice (duplicated, or a retry's beside the late first one) are never read
// as the reply to another line.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { NetError, UsageError } from "../../src/errors.ts";
import { udpWindow } from "../../src/transport/udp-window.ts";
import { udpWindowLibc, windowLibc } from "../../src/transport/udp-window-libc.ts";
import { requireTool, startPeer } from "../support/peers.ts";
import { startTextbook } from "../support/textbook-udp.ts";
import { eachUdpEngine } from "./udp-engines.ts";

let textbook: { port: number; stop(): void };
beforeAll(async () => {
  textbook = await startTextbook();
});
afterAll(() => textbook.stop());

async function* each(lines: string[]): AsyncGenerator<Uint8Array> {
  for (const line of lines) yield Buffer.from(line);
}

/** failingAfter yields the lines, then fails as lines() does at a line past its bound. */
async function* failingAfter(lines: string[]): AsyncGenerator<Uint8Array> {
  yield* each(lines);
  throw new UsageError("an input line is longer than 67108864 bytes");
}

/** sendAll sends the lines to port through udpWindow (the engine UPCAT_UDP_ENGINE picks) and returns the replies. */
async function sendAll(port: number, lines: string[], timeoutMs = 2000, window = 64, retries = 1): Promise<string[]> {
  const replies: string[] = [];
  const target = { transport: "udp", host: "127.0.0.1", port } as const;
  await udpWindow(target, each(lines), {
    window,
    timeoutMs,
    retries,
    onReply: (r) => replies.push(Buffer.from(r).toString()),
  });
  return replies;
}

const numbered = (count: number) => Array.from({ length: count }, (_, i) => `line ${i}\n`);

/** closedPort is a UDP port nothing listens on (bound, then let go). */
async function closedPort(): Promise<number> {
  const sock = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const { port } = sock;
  sock.close();
  return port;
}

test("the default engine on 64-bit Linux is libc's", () => {
  expect(windowLibc() !== null).toBe(process.platform === "linux" && ["x64", "arm64"].includes(process.arch));
});

eachUdpEngine(() => {
  test("3000 lines come back as the textbook's server answers them, in the order of the lines", async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `line ${i} straße\n`);
    expect(await sendAll(textbook.port, lines)).toEqual(lines.map((l) => l.toUpperCase()));
  });

  test("a line of 65 507 bytes comes back whole", async () => {
    const line = `${"x".repeat(65_506)}\n`;
    expect(await sendAll(textbook.port, ["a\n", line, "b\n"])).toEqual(["A\n", line.toUpperCase(), "B\n"]);
  });

  test("input that fails after two lines: both are answered, then the failure is thrown", async () => {
    const replies: string[] = [];
    const target = { transport: "udp", host: "127.0.0.1", port: textbook.port } as const;
    const opts = {
      window: 64,
      timeoutMs: 2000,
      retries: 1,
      onReply: (r: Uint8Array) => replies.push(`${Buffer.from(r)}`),
    };
    const err = await udpWindow(target, failingAfter(["one\n", "two\n"]), opts).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(replies).toEqual(["ONE\n", "TWO\n"]);
  });

  test("a refused port fails with ECONNREFUSED, a line longer than a datagram with a usage error", async () => {
    const refused = await sendAll(await closedPort(), ["hello\n"]).catch((e) => e);
    expect(refused).toBeInstanceOf(NetError);
    expect(refused.code).toBe("ECONNREFUSED");
    const long = await sendAll(textbook.port, [`${"x".repeat(65_507)}\n`]).catch((e) => e);
    expect(long).toBeInstanceOf(UsageError);
  });

  // Before, a second copy waited on its socket and was printed as the next line's reply: 961 of 2000 lines wrong.
  test.each([1, 64])(
    "the textbook's server answering every line twice: each line gets its own reply (window %d)",
    async (window) => {
      const twice = await startTextbook({ twice: true });
      try {
        const lines = numbered(2000);
        expect(await sendAll(twice.port, lines, 2000, window)).toEqual(lines.map((l) => l.toUpperCase()));
      } finally {
        twice.stop();
      }
    },
  );

  test.each([1, 4])(
    "a reply later than the retry's comes after it: neither is read as another line's (window %d)",
    async (window) => {
      const { proc, match } = await startPeer(
        [requireTool("python3"), new URL("udp-late-first.py", import.meta.url).pathname, "0.3"],
        /listening (\d+)/,
      );
      try {
        // Each line is answered 300 ms after its first try and at once after its retry at 200 ms, so its late first
        // reply comes while later lines are in flight, on sockets that carried lines before.
        const lines = numbered(3 * window + 3);
        expect(await sendAll(Number(match[1]), lines, 200, window, 2)).toEqual(lines.map((l) => l.toUpperCase()));
      } finally {
        proc.kill("SIGKILL");
      }
    },
  );
});

test("through libc directly: no reply within the deadline fails the line after its retries", async () => {
  // A port that swallows datagrams: bound and never read.
  const sink = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  try {
    const opts = { window: 4, timeoutMs: 100, retries: 2, onReply() {} };
    const started = performance.now();
    const err = await udpWindowLibc(windowLibc()!, "127.0.0.1", sink.port, each(["x\n"]), opts).catch((e) => e);
    expect(err).toBeInstanceOf(NetError);
    expect(`${err.message}`).toContain("no reply after 3 tries of 100ms");
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  } finally {
    sink.close();
  }
});
