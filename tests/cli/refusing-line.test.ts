// A bound that turns clients away is said while it is hit (issue 28), not only in the last line: a relay's UDP session
// past --max-per-address is dropped with no word to its client, and a TCP connection past it is closed at once. Each
// server writes "refusing: <bound> N (lift with <option>)" at most once a second; read from real processes' stderr.
import { expect, test } from "bun:test";
import { throughRelay } from "../relay/process.ts";
import { fromSource, startServer } from "../support/run.ts";

/** saidWithin polls `said` until it matches `pattern` or `ms` pass, and returns what was said. */
async function saidWithin(said: () => string, pattern: RegExp, ms = 5000): Promise<string> {
  const end = performance.now() + ms;
  while (!pattern.test(said()) && performance.now() < end) await Bun.sleep(50);
  return said();
}

test("relay over UDP: sessions past --max-per-address are told while the relay runs, with the option", async () => {
  const sockets = await Promise.all(
    Array.from({ length: 5 }, () => Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })),
  );
  try {
    const rest = await throughRelay(["--max-per-address", "2"], async (relay) => {
      for (const sock of sockets) sock.send("x\n", relay.port, "127.0.0.1");
      const said = await saidWithin(relay.said, /refusing/);
      expect(said).toContain("upcat: refusing: per-address 3 (lift with a higher --max-per-address, or 0)\n");
    });
    expect(rest).toContain("refused: per-address 3");
  } finally {
    for (const sock of sockets) sock.close();
  }
});

test.each([
  ["--max-per-address", "per-address 2 (lift with a higher --max-per-address, or 0)"],
  ["--max-connections", "over-limit 2 (lift with a higher --max-connections)"],
])("serve over TCP: connections past %s are told at once; a quiet second adds nothing", async (option, told) => {
  const server = await startServer(fromSource, ["--tcp", "--port", "0", "--host", "127.0.0.1", option, "1"]);
  const held: Bun.Socket[] = [];
  try {
    for (let k = 0; k < 3; k++)
      held.push(await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {} } }));
    const said = await saidWithin(server.said, /refusing/);
    expect(said).toBe(`upcat: refusing: ${told}\n`);
    await Bun.sleep(1500);
    expect(server.said()).toBe(said);
  } finally {
    for (const sock of held) sock.end();
    await server.stop();
  }
});
