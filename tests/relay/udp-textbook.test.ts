// The UDP relay in front of the textbook's UDPServer.py: through the relay, the datagrams a relay could get wrong (the
// largest, an empty one, bytes that are not UTF-8, bursts larger than what a session keeps while its socket towards the
// target is bound) come back as the textbook's server answers them directly.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { exchange, startTextbook, TEXTBOOK_CASES } from "../support/textbook-udp.ts";
import { Cleanup, relay, type TestRelay } from "./harness.ts";

const cleanup = new Cleanup();
let textbook: { port: number; stop(): void };
let r: TestRelay;
beforeAll(async () => {
  textbook = await startTextbook();
  r = await relay(cleanup, { transport: "udp", target: textbook.port });
});
afterAll(() => {
  cleanup.run();
  textbook.stop();
});

test.each(TEXTBOOK_CASES)(
  "%s comes back through the relay as from the textbook's server",
  async (_name, bursts) => {
    const [relayed, direct] = await Promise.all([exchange(r.port, bursts), exchange(textbook.port, bursts)]);
    expect(direct.flat().length).toBe(bursts.flat().length);
    expect(relayed).toEqual(direct);
    expect(r.counters.sendFailed).toBe(0);
  },
  30_000,
);
