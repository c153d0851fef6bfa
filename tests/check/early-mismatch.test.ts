// A mismatch is decided as soon as the reply cannot match any more (issue 27, item 2): the peer closed, the reply
// reached what a check reads (64 KiB), a datagram came that does not hold it. --expect and --match look for text
// anywhere in the reply, so a reply on a connection still open may yet match: that one waits for --timeout, as
// check_tcp -e does (the oracle), and both fail.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { plugin } from "../verdicts/oracle.ts";
import { requireTool, runPeer, startPeer } from "../support/peers.ts";
import { fromSource, run } from "../support/run.ts";

const PEER = new URL("./early_peer.py", import.meta.url).pathname;
let peer: Subprocess;
const ports: Record<string, number> = {};

beforeAll(async () => {
  const started = await startPeer([requireTool("python3"), PEER], /listening (.+)\n/);
  peer = started.proc;
  for (const pair of started.match[1]!.split(" ")) {
    const [name, port] = pair.split("=");
    ports[name!] = Number(port);
  }
});
afterAll(() => peer?.kill("SIGTERM"));

/** checked runs one check and says how long it took, from outside. */
async function checked(args: string[]) {
  const started = performance.now();
  const r = await run(fromSource, ["check", "--json", ...args], { timeoutMs: 20_000 });
  return { status: r.status, record: JSON.parse(r.stdout.split("\n")[0]!), ms: performance.now() - started };
}

describe("decided when the reply cannot match any more, long before a 10 s --timeout", () => {
  test.each([
    ["closes", [], "connection closed by peer; the reply did not match"],
    ["floods", [], "no match in the first 65536 bytes"],
    ["udp", ["--udp"], "the reply did not match"],
  ])("%s", async (name, flags, error) => {
    const target = `127.0.0.1:${ports[name]}`;
    const r = await checked([...flags, "--timeout", "10s", "--send", "x", "--expect", "yes", target]);
    expect(r.status).toBe(1);
    expect(r.record).toMatchObject({ state: "mismatch", ok: false, error });
    expect(r.ms).toBeLessThan(5000);
    if (name === "udp") return;
    // check_tcp fails it too, and as early: it stops at the close, or at its own read bound.
    const started = performance.now();
    const oracle = await runPeer(
      [plugin("check_tcp"), "-H", "127.0.0.1", "-p", String(ports[name]), "-s", "x", "-e", "yes", "-t", "10"],
      undefined,
      20_000,
    );
    expect(oracle.status).not.toBe(0);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test("--match on a reply that closes is decided at the close too", async () => {
    const r = await checked(["--timeout", "10s", "--send", "x", "--match", "^yes$", `127.0.0.1:${ports.closes}`]);
    expect(r.record).toMatchObject({ state: "mismatch", error: "connection closed by peer; the reply did not match" });
    expect(r.ms).toBeLessThan(5000);
  });
});

test("a reply on a connection still open may yet match: both upcat and check_tcp wait for the timeout", async () => {
  const target = `127.0.0.1:${ports.holds}`;
  const r = await checked(["--timeout", "1500ms", "--send", "x", "--expect", "yes", target]);
  expect(r.record).toMatchObject({ state: "mismatch", error: "the reply did not match within 1500ms" });
  expect(r.ms).toBeGreaterThanOrEqual(1400);
  const started = performance.now();
  const oracle = await runPeer(
    [plugin("check_tcp"), "-H", "127.0.0.1", "-p", String(ports.holds), "-s", "x", "-e", "yes", "-t", "2"],
    undefined,
    20_000,
  );
  expect(oracle.status).not.toBe(0);
  expect(performance.now() - started).toBeGreaterThanOrEqual(1900);
});
