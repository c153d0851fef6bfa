// The UDP server on each engine against the textbook's UDPServer.py: the datagrams a batch engine could get wrong (the
// largest, an empty one, bytes that are not UTF-8, a burst larger than a batch) come back as the textbook's come back.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { upper } from "../../src/protocol/upper.ts";
import type { Listener } from "../../src/transport/listener.ts";
import { serveProtocol } from "../../src/transport/serve.ts";
import { batchRead } from "../../src/transport/udp-batch/engine.ts";
import { eachUdpEngine } from "./udp-engines.ts";
import { exchange, startTextbook, TEXTBOOK_CASES, text, untilBatched } from "../support/textbook-udp.ts";

let textbook: { port: number; stop(): void };
beforeAll(async () => {
  textbook = await startTextbook();
});
afterAll(() => textbook.stop());

eachUdpEngine((engine) => {
  let listener: Listener;
  beforeAll(async () => {
    [listener] = (await serveProtocol(upper, ["udp"], { host: "127.0.0.1", port: 0 })) as [Listener];
  });
  afterAll(() => listener.stop());

  test("the engine asked for is the one serving, from the first datagram on (not at the bind)", async () => {
    expect(batchRead(listener)).toBeUndefined();
    expect(await exchange(listener.port, [[text("first")]])).toEqual([[text("FIRST")]]);
    expect(batchRead(listener) === undefined).toBe(engine === "bun");
  });

  test.each(TEXTBOOK_CASES)(
    "%s comes back as from the textbook's server",
    async (_name, bursts) => {
      const [ours, theirs] = await Promise.all([exchange(listener.port, bursts), exchange(textbook.port, bursts)]);
      expect(theirs.flat().length).toBe(bursts.flat().length);
      expect(ours).toEqual(theirs);
    },
    30_000,
  );

  test("a stream faster than it is answered is read in batches on the batch engine, each answered", async () => {
    const tries = await untilBatched(listener.port, () => batchRead(listener));
    if (engine === "batch") expect(tries).toBeLessThanOrEqual(20);
    else expect(batchRead(listener)).toBeUndefined();
  });
});
