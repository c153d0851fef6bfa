// A spray from thousands of forged 127.x.y.z sources at the amplifiers (issue 19): bytes out stay within bytes in plus
// --udp-excess
// (64k a second, all sources together), counted by a sink that every forged source's replies reach.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { forge, serve, udpAsk, type Serving } from "./support.ts";
import { figure } from "../support/figures.ts";
import { eachUdpEngine } from "../transport/udp-engines.ts";

const EXCESS = 64 << 10; // the default --udp-excess, bytes a second, and its burst
const dir = mkdtempSync(join(tmpdir(), "upcat-spray-"));
let server: Serving | undefined;
afterAll(() => {
  server?.proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

eachUdpEngine(() => {
  test("20 000 forged sources at qotd (a 509-byte quote) and chargen: bytes out <= bytes in + --udp-excess; a client " +
    "is served after", async () => {
    // The long quote is what made qotd 18.8x in the attack: the longest RFC 865 allows.
    const quotes = join(dir, "long.txt");
    writeFileSync(quotes, `${"q".repeat(507)}\n`);
    server = await serve(
      ["--udp", "--host", "127.0.0.1", "--protocol", "qotd=0", "--protocol", "chargen=0", "--quotes", quotes],
      2,
    );
    let sinkBytes = 0;
    let sinkDatagrams = 0;
    const sink = await Bun.udpSocket({
      hostname: "0.0.0.0",
      port: 0,
      socket: {
        data(_s, d) {
          sinkBytes += d.length;
          sinkDatagrams++;
        },
        error() {},
      },
    });
    try {
      const began = performance.now();
      // Sources 127.x.y.z (x >= 1) all come back to the sink's port on 0.0.0.0: it counts what a victim would get.
      const one = { count: 10_000, sport: sink.port, payload: "0a", seconds: 8 };
      const q = await forge({ dst: "127.0.0.1", dport: server.ports["qotd/udp"]!, spray: { ...one, seed: 1 } });
      const c = await forge({ dst: "127.0.0.1", dport: server.ports["chargen/udp"]!, spray: { ...one, seed: 2 } });
      const forged = q.sent + c.sent;
      // Some of a spray this fast is dropped at the server's socket buffer: wait until what it got stops growing (still
      // for 300 ms: the quiet window is the measure).
      let seen = -1;
      while (server.stats().datagrams_in !== seen) {
        seen = server.stats().datagrams_in ?? 0;
        await Bun.sleep(300);
      }
      // Replies still in flight land within a moment; wait until the sink has all the server says it sent.
      const out = () => server!.stats().bytes_out!;
      const end = performance.now() + 3000;
      while (sinkBytes < out() && performance.now() < end) await Bun.sleep(20);
      const seconds = (performance.now() - began) / 1000;
      // Bytes in as the server counted them (what the kernel delivered), not as forged: the stricter bound.
      const bytesIn = server.stats().bytes_in!;
      const bound = bytesIn + EXCESS + EXCESS * seconds;
      figure(
        `spray: ${forged} forged datagrams, ${seen} received, ${bytesIn} bytes in; sink got ${sinkDatagrams} ` +
          `datagrams, ${sinkBytes} bytes ` +
          `(${(sinkBytes / bytesIn).toFixed(2)}x; bound ${Math.round(bound)} over ${seconds.toFixed(2)} s); ` +
          `without the bound: ~${10_000 * 509 + 10_000 * 74} bytes`,
      );
      expect(sinkBytes).toBeGreaterThan(0); // replies do come: the bound is what limits them, not a dead server
      expect(sinkBytes).toBeLessThanOrEqual(bound);
      expect(server.stats().excess_limited! + server.stats().rate_limited!).toBeGreaterThan(0);

      // Once the spray is over the budget refills within a second: a client gets its quote (the refill is measured).
      await Bun.sleep(1100);
      expect((await udpAsk("127.0.0.1", server.ports["qotd/udp"]!, ""))?.length).toBe(509);
    } finally {
      sink.close();
      expect((await server.stop()).status).toBe(0);
    }
  }, 30_000);
});
