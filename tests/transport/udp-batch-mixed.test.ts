// A UDP server on each engine fed by several clients at once, mixed: replies that are their request rewritten in place
// (ASCII), replies that grow (ß becomes SS), empty datagrams, and datagrams from a service port that the gate refuses.
// Each client must get its own replies, in order, and the forged one nothing, wherever the engine's batches fall
// (udp-batch-drainer.test.ts fixes them, for the engine's two ways of sending).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { upper } from "../../src/protocol/upper.ts";
import type { Listener } from "../../src/transport/listener.ts";
import { serveProtocol } from "../../src/transport/serve.ts";
import { batchRead } from "../../src/transport/udp-batch/engine.ts";
import { pythonJson } from "../support/python-json.ts";
import { text } from "../support/textbook-udp.ts";
import { eachUdpEngine } from "./udp-engines.ts";

/** SERVICE_PORT is MS-SQL's browser port: a source the server never answers (reflection.ts). */
const SERVICE_PORT = 1434;
/**
 * stream is what the client sends, as [socket, text]: in each hundred, 70 in ASCII from the two ordinary sockets alone
 * (every reply its request rewritten in place: more than a batch of 64) and then 30 that mix over all three sockets
 * ASCII, text that grows, empty datagrams and datagrams from the service port.
 */
function stream(count: number): [number, string][] {
  return Array.from({ length: count }, (_, k): [number, string] => {
    if (k % 100 < 70) return [k % 2, `ascii ${k}`];
    return [k % 3, [`ascii ${k}`, `straße ${k}`, "", `ﬁ ${k} x`][k % 4]!];
  });
}

const CLIENT = new URL("./udp-multi-client.py", import.meta.url).pathname;

/**
 * exchangeMixed sends the stream to port, each datagram from its socket of three (two on ephemeral ports, one on the
 * service port) as fast as Python sends, and returns what each socket got back, as hex.
 */
function exchangeMixed(port: number, sent: [number, string][], want: number[]): Promise<string[][]> {
  const stream = sent.map(([i, t]) => [i, text(t)]);
  return pythonJson([CLIENT], { port, binds: [0, 0, SERVICE_PORT], stream, want, timeouts: [2, 2, 0.3] });
}

eachUdpEngine((engine) => {
  let listener: Listener;
  beforeAll(async () => {
    // Replies that grow are bounded (--udp-rate, --udp-excess): lifted here, so that every one is owed.
    const lifted = { host: "127.0.0.1", port: 0, udpRate: 1_000_000, udpExcess: 1 << 30 };
    [listener] = (await serveProtocol(upper, ["udp"], lifted)) as [Listener];
  });
  afterAll(() => listener.stop());

  test("each client gets its own replies in order, the service port none, until the engine has read 100", async () => {
    const sent = stream(240);
    const want = [0, 1].map((i) => sent.filter(([j]) => j === i).map(([, t]) => text(t.toUpperCase())));
    const before = batchRead(listener) ?? 0;
    // Until the engine has read 100 datagrams itself (Bun reads those waiting at a wake-up): twenty rounds at most; on
    // Bun's socket alone, three.
    for (let rounds = 0; rounds < (engine === "batch" ? 20 : 3); rounds++) {
      const [first, second, forged] = await exchangeMixed(listener.port, sent, [...want.map((w) => w.length), 1]);
      expect([first, second, forged]).toEqual([want[0]!, want[1]!, []]);
      if ((batchRead(listener) ?? 0) >= before + 100) break;
    }
    if (engine === "batch") expect(batchRead(listener)!).toBeGreaterThanOrEqual(before + 100);
    else expect(batchRead(listener)).toBeUndefined();
    expect(listener.counters.reflected).toBeGreaterThanOrEqual(sent.filter(([i]) => i === 2).length);
  }, 60_000);
});
