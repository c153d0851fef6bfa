// UDP clients under faults on the path: loss, duplication, reordering and delay, through the relay, against upcat's
// server.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { NetError } from "../../src/errors.ts";
import { upper } from "../../src/protocol/upper.ts";
import type { Listener } from "../../src/transport/listener.ts";
import { serveProtocol } from "../../src/transport/serve.ts";
import { udpRequest } from "../../src/transport/udp-client.ts";
import { freePort } from "../support/peers.ts";
import type { DirectionFaults } from "../../src/relay/faults.ts";
import { randomFor } from "../../src/relay/random.ts";
import { type Relay, startRelay } from "../../src/relay/relay.ts";
import { fromSource, run } from "../support/run.ts";
import { figure } from "../support/figures.ts";
import { waitFor } from "../support/wait.ts";
import { eachUdpEngine } from "../transport/udp-engines.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

let server: Listener;
let relays: Relay[] = [];

eachUdpEngine(() => {
  beforeAll(async () => {
    [server] = (await serveProtocol(upper, ["udp"], { host: "127.0.0.1", port: 0 })) as [Listener];
  });
  afterAll(() => server.stop());
  afterEach(() => {
    relays.forEach((r) => r.stop());
    relays = [];
  });

  /** relay starts the product's relay (`upcat relay udp://...`'s domain) in front of the upper server. */
  async function relay(faults: { up?: DirectionFaults; down?: DirectionFaults; seed?: number } = {}): Promise<Relay> {
    const r = await startRelay({
      transport: "udp",
      listen: { host: "127.0.0.1", port: 0 },
      target: { host: "127.0.0.1", port: server.port },
      faults: { up: {}, down: {}, seed: 1, ...faults },
    });
    relays.push(r);
    return r;
  }

  function ask(r: Relay, text: string, timeoutMs: number, retries: number) {
    return udpRequest({ transport: "udp", host: r.host, port: r.port }, enc(text), { timeoutMs, retries });
  }

  /**
   * seedLosing finds a --seed under which the first session's `direction` loses exactly the datagrams
   * marked true in `pattern` at 50% --loss: with loss the only random fault, it takes one draw a datagram.
   */
  function seedLosing(direction: "up" | "down", pattern: boolean[]): number {
    for (let seed = 1; ; seed++) {
      const random = randomFor(seed, 0, direction);
      if (pattern.every((lost) => random() < 0.5 === lost)) return seed;
    }
  }

  /** expectOneLineError checks the CLI's failure contract: exit 1, one `upcat: ` line on stderr, no stack. */
  function expectOneLineError(r: { status: number; stderr: string }, pattern: RegExp): void {
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^upcat: [^\n]*\n$/);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\bat \S+:\d+|internal error/);
  }

  describe("loss", () => {
    test("the first two requests lost: the third try gets the reply, and the attempts say so", async () => {
      const r = await relay({ up: { loss: 0.5 }, seed: seedLosing("up", [true, true, false]) });
      const reply = await ask(r, "lost twice", 150, 3);
      expect(dec(reply.bytes)).toBe("LOST TWICE");
      expect(reply.attempts).toBe(3);
      expect(r.relay.up).toEqual({ received: 3, dropped: 2, forwarded: 1 });
    });

    test("a lost reply is recovered the same way: the server answers twice, the client takes one", async () => {
      const r = await relay({ down: { loss: 0.5 }, seed: seedLosing("down", [true, false]) });
      const reply = await ask(r, "reply lost", 150, 2);
      expect(dec(reply.bytes)).toBe("REPLY LOST");
      expect(reply.attempts).toBe(2);
      expect(r.relay.up.forwarded).toBe(2);
      expect(r.relay.down).toEqual({ received: 2, dropped: 1, forwarded: 1 });
    });

    test("25% seeded loss both ways over 40 requests: every one answered, within its retries", async () => {
      const r = await relay({ up: { loss: 0.25 }, down: { loss: 0.25 }, seed: 11 });
      let attempts = 0;
      for (let k = 0; k < 40; k++) {
        const reply = await ask(r, `message ${k}`, 80, 8);
        expect(dec(reply.bytes)).toBe(`MESSAGE ${k}`);
        attempts += reply.attempts;
      }
      // Every try the client counted reached the relay; some were lost, so there were more tries than requests.
      expect(r.relay.up.received).toBe(attempts);
      expect(attempts).toBeGreaterThan(40);
      expect(r.relay.up.dropped + r.relay.down.dropped).toBeGreaterThan(0);
      figure(
        `udp loss: 40 requests, ${attempts} tries, ${r.relay.up.dropped} requests and ` +
          `${r.relay.down.dropped} replies dropped`,
      );
    });

    test(
      "piped lines through 25% seeded loss both ways: `upcat send --udp` prints every reply once, in " + "order",
      async () => {
        const r = await relay({ up: { loss: 0.25 }, down: { loss: 0.25 }, seed: 5 });
        const input = Array.from({ length: 15 }, (_, k) => `line ${k} ﬁ\n`).join("");
        const out = await run(
          fromSource,
          ["send", "--udp", "--timeout", "60ms", "--retries", "12", `127.0.0.1:${r.port}`],
          { stdin: input },
        );
        expect(out).toMatchObject({ status: 0, stderr: "" });
        expect(out.stdout).toBe(input.toUpperCase());
        expect(r.relay.up.dropped + r.relay.down.dropped).toBeGreaterThan(0);
      },
    );

    test("every datagram lost: `upcat send` gives up after its tries, on time, with one line and exit 1", async () => {
      const r = await relay({ up: { loss: 1 } });
      const started = performance.now();
      const out = await run(fromSource, [
        "send",
        "--timeout",
        "300ms",
        "--retries",
        "2",
        `udp://127.0.0.1:${r.port}`,
        "anyone?",
      ]);
      const elapsed = performance.now() - started;
      expectOneLineError(
        out,
        new RegExp(`^upcat: read udp 127\\.0\\.0\\.1:${r.port}: no reply after 3 tries of 300ms`),
      );
      expect(out.stdout).toBe("");
      expect(r.relay.up.received).toBe(3);
      expect(elapsed).toBeLessThan(300 * 3 + 1500);
    });
  });

  describe("duplication and reordering", () => {
    test("every datagram doubled both ways: one reply, one attempt, the copies ignored", async () => {
      const r = await relay({ up: { duplicate: 1 }, down: { duplicate: 1 } });
      const reply = await ask(r, "once", 500, 0);
      expect(dec(reply.bytes)).toBe("ONCE");
      expect(reply.attempts).toBe(1);
      // The server answers both copies; each answer is doubled on the way back, and counted after the client has its
      // answer.
      await waitFor("four replies forwarded", () => r.relay.down.forwarded === 4, 2000);
      expect(r.relay.up.forwarded).toBe(2);
      expect(r.relay.down).toMatchObject({ received: 2, forwarded: 4 });
    });

    test("piped lines through duplication: each reply printed once, in order", async () => {
      const r = await relay({ up: { duplicate: 1 }, down: { duplicate: 0.5 } });
      const input = Array.from({ length: 20 }, (_, k) => `line ${k} straße\n`).join("");
      const out = await run(fromSource, ["send", "--udp", "--timeout", "1s", `127.0.0.1:${r.port}`], { stdin: input });
      expect(out).toMatchObject({ status: 0, stderr: "" });
      expect(out.stdout).toBe(input.toUpperCase());
    });

    test("32 clients at once through reordering both ways: each gets its own reply", async () => {
      const r = await relay({ up: { reorder: 4 }, down: { reorder: 5, duplicate: 1 } });
      const replies = await Promise.all(Array.from({ length: 32 }, (_, k) => ask(r, `client ${k}`, 1000, 2)));
      replies.forEach((reply, k) => expect(dec(reply.bytes)).toBe(`CLIENT ${k}`));
      // One session a client address and port.
      expect(r.counters.connections).toBe(32);
    });

    test("a retry overtaking its original (held and reversed): the first reply wins, the other dropped", async () => {
      // The group of 2 holds the first try (up to 250 ms) until the second arrives, then lets them go newest first.
      const r = await relay({ up: { reorder: 2 } });
      const reply = await ask(r, "overtaken", 100, 3);
      expect(dec(reply.bytes)).toBe("OVERTAKEN");
      expect(reply.attempts).toBe(2);
      await waitFor("the second reply at the relay", () => r.relay.down.received === 2, 2000);
      expect(r.relay.down.received).toBe(2);
    });
  });

  describe("delay", () => {
    test("a delay under the timeout: answered at the first try, the round trip includes both delays", async () => {
      const r = await relay({ up: { delay: { ms: 100, jitterMs: 0 } }, down: { delay: { ms: 100, jitterMs: 0 } } });
      const reply = await ask(r, "slow", 1000, 0);
      expect(dec(reply.bytes)).toBe("SLOW");
      expect(reply.attempts).toBe(1);
      expect(reply.rttMs).toBeGreaterThanOrEqual(190);
    });

    test("a reply later than the timeout but before the last try is taken", async () => {
      const r = await relay({ down: { delay: { ms: 250, jitterMs: 0 } } });
      const reply = await ask(r, "late", 200, 3);
      expect(dec(reply.bytes)).toBe("LATE");
      expect(reply.attempts).toBe(2);
    });

    test("a delay beyond every try: the timeout error, on time", async () => {
      const r = await relay({ down: { delay: { ms: 5000, jitterMs: 0 } } });
      const started = performance.now();
      const err = await ask(r, "too slow", 250, 2).catch((e) => e);
      const elapsed = performance.now() - started;
      expect(err).toBeInstanceOf(NetError);
      expect(err.code).toBe("ETIMEDOUT");
      expect(err.message).toContain("no reply after 3 tries of 250ms");
      expect(r.relay.up.received).toBe(3);
      expect(elapsed).toBeGreaterThanOrEqual(700);
      expect(elapsed).toBeLessThan(250 * 3 + 1500);
    });

    test("through the CLI: exit 1, one line, within the bound", async () => {
      const r = await relay({ up: { delay: { ms: 5000, jitterMs: 0 } } });
      const started = performance.now();
      const out = await run(
        fromSource,
        ["send", "--timeout", "400ms", "--retries", "1", `udp://127.0.0.1:${r.port}`, "hello"],
        { timeoutMs: 10_000 },
      );
      expectOneLineError(
        out,
        /no reply after 2 tries of 400ms \(is a server running there\? try --timeout or --retries\)/,
      );
      expect(performance.now() - started).toBeLessThan(400 * 2 + 1500);
    });
  });

  describe("no server", () => {
    test("ICMP port unreachable: refused at once, not after the retries", async () => {
      const port = await freePort("udp");
      const started = performance.now();
      const out = await run(fromSource, [
        "send",
        "--timeout",
        "3s",
        "--retries",
        "5",
        `udp://127.0.0.1:${port}`,
        "hello",
      ]);
      expectOneLineError(
        out,
        new RegExp(
          `^upcat: read udp 127\\.0\\.0\\.1:${port}: connection refused \\(nothing is listening on that port\\)`,
        ),
      );
      expect(performance.now() - started).toBeLessThan(3000);
    });
  });
});
