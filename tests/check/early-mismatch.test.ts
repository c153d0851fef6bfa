// A mismatch is decided as soon as the reply cannot match any more (issue 27, item 2): the peer closed, the reply
// reached what a check reads (64 KiB), a datagram came that does not hold it. --expect and --match look for text
// anywhere in the reply, so a reply on a connection still open may yet match: that one waits for --timeout, as
// check_tcp -e does (the oracle), and both fail. --expect-prefix is what can be decided early on an open stream.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { readEscapes } from "../../src/text/escapes.ts";
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

describe("--expect-prefix: a reply that has left it fails at once, even on a connection still open", () => {
  test("a differing byte: mismatch long before --timeout, naming the byte; one that follows passes", async () => {
    const target = `127.0.0.1:${ports.holds}`;
    const differs = await checked(["--timeout", "10s", "--send", "x", "--expect-prefix", "xy", target]);
    expect(differs.record).toMatchObject({
      state: "mismatch",
      error: "the reply differs from --expect-prefix at byte 1",
      reply: "xx nope\r\n",
    });
    expect(differs.ms).toBeLessThan(5000);
    const follows = await checked(["--timeout", "10s", "--send", "x", "--expect-prefix", "xx nope\\r\\n", target]);
    expect(follows.record).toMatchObject({ state: "open", ok: true });
    // With --expect too, both must hold: the prefix does, "yes" may yet come, so it waits.
    const both = await checked(["--timeout", "1s", "--send", "x", "--expect-prefix", "xx", "--expect", "yes", target]);
    expect(both.record).toMatchObject({ state: "mismatch", error: "the reply did not match within 1000ms" });
  });

  test("a --file line gives its own; a typo of it is named", async () => {
    const dir = mkdtempSync(join(tmpdir(), "upcat-prefix-"));
    try {
      const file = join(dir, "targets");
      writeFileSync(file, `127.0.0.1:${ports.holds} --send x --expect-prefix +PONG\n`);
      const r = await checked(["--timeout", "10s", "--file", file]);
      expect(r.record).toMatchObject({ state: "mismatch", error: "the reply differs from --expect-prefix at byte 0" });
      expect(r.ms).toBeLessThan(5000);
      writeFileSync(file, `127.0.0.1:${ports.holds} --send x --expect-prefx +PONG\n`);
      const typo = await run(fromSource, ["check", "--file", file]);
      expect(typo.status).toBe(2);
      expect(typo.stderr).toContain("--expect-prefix");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("arbitrary and number-like prefixes against what socat echoed back: pass iff it starts so", async () => {
    // socat says where it listens on stderr; startPeer reads stdout.
    const listen = "TCP-LISTEN:0,bind=127.0.0.1,fork,reuseaddr";
    const socat = await startPeer(
      ["sh", "-c", `exec ${requireTool("socat")} -d -d ${listen} PIPE 2>&1`],
      /listening on .*:(\d+)/,
    );
    try {
      const port = socat.match[1];
      const samples = ["0220", "220", "1e3", "1000", "-0", "+PONG", " 7", "0x10", "héllo", "a\\tb", "\\x00\\xff"];
      const cases = samples.flatMap((sent) => [
        [sent, sent],
        [sent, sent.slice(0, 2)],
        [sent, `${sent}!`],
        [sent, samples[(samples.indexOf(sent) + 1) % samples.length]!],
      ]);
      for (const [sent, prefix] of cases) {
        const args = ["--timeout", "1s", "--send", sent!, "--expect-prefix", prefix!, `127.0.0.1:${port}`];
        const wire = Buffer.from(readEscapes(sent!, "--send"));
        let want: Buffer;
        try {
          want = Buffer.from(readEscapes(prefix!, "--expect-prefix"));
        } catch {
          // Half an escape (\x of \x00): a usage error naming the option, and nothing checked.
          const bad = await run(fromSource, ["check", ...args]);
          expect({ prefix, status: bad.status, named: bad.stderr.includes("--expect-prefix") }).toEqual({
            prefix,
            status: 2,
            named: true,
          });
          continue;
        }
        const r = await checked(args);
        const at = [...want.subarray(0, wire.length)].findIndex((byte, i) => byte !== wire[i]);
        // Passes when it starts so; fails at once where it leaves the prefix; a reply shorter than the prefix that
        // follows it so far may yet go on, and waits for --timeout.
        const error =
          wire.length >= want.length && at < 0
            ? undefined
            : at >= 0
              ? `the reply differs from --expect-prefix at byte ${at}`
              : "the reply did not match within 1000ms";
        expect({ sent, prefix, ok: r.record.ok, error: r.record.error ?? undefined }).toEqual({
          sent,
          prefix,
          ok: !error,
          error,
        });
      }
    } finally {
      socat.proc.kill("SIGTERM");
    }
  }, 60_000);
});
