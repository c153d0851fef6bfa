// Reports that lose nothing and confuse nothing (issue 28, items 3, 4 and 7): two checks of one target are told
// apart (--json's index, file and line; unique perfdata labels), a reply of random bytes from a Python peer comes back
// exactly (reply_base64) and readably (reply's \xNN, never U+FFFD), and --file names every bad line at once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess, TCPSocketListener } from "bun";
import { escapedBytes, jsonRecords } from "../check/json-records.ts";
import { requireTool, startPeer } from "../support/peers.ts";
import { fromSource, run } from "../support/run.ts";

const PEER = new URL("../check/random_peer.py", import.meta.url).pathname;
/** NEVER is an --expect that random bytes do not hold: the probe reads the whole reply, to the peer's close. */
const NEVER = "ZZZZZZZZZZZZZZZZ";

const dir = mkdtempSync(join(tmpdir(), "upcat-check-places-"));
const log = join(dir, "replies.log");
let peer: Subprocess;
let random: string;
let listener: TCPSocketListener<undefined>;
let open: string;

beforeAll(async () => {
  writeFileSync(log, "");
  const started = await startPeer([requireTool("python3"), PEER, log], /listening (\d+)/);
  peer = started.proc;
  random = `127.0.0.1:${started.match[1]}`;
  listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  open = `127.0.0.1:${listener.port}`;
});
afterAll(() => {
  peer?.kill("SIGTERM");
  listener?.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

/** sent is what the peer has sent so far, in hex, a reply a line. */
function sent(): string[] {
  return readFileSync(log, "utf8").split("\n").filter(Boolean);
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** writeFile writes a --file in the test's folder and returns its path. */
function writeFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("two checks of one target are told apart", () => {
  test("--json: index counts the run's targets from 0; file and line name a --file target's line", async () => {
    const file = writeFile("twice.txt", `# the same port, twice\n\n${open}\n${open} --timeout 2s  # again\n`);
    const r = await run(fromSource, ["check", "--json", open, `${open} --timeout 3s`, "--file", file]);
    expect(r).toMatchObject({ status: 0, stderr: "" });
    const records = jsonRecords(r.stdout);
    expect(records.map((o) => [o.target, o.index, o.file, o.line])).toEqual([
      [`tcp://${open}`, 0, undefined, undefined],
      [`tcp://${open}`, 1, undefined, undefined],
      [`tcp://${open}`, 2, file, 3],
      [`tcp://${open}`, 3, file, 4],
    ]);
    // Standard input is named as --file names it.
    const stdin = await run(fromSource, ["check", "--json", "--file", "-"], { stdin: `\n${open}\n${open}\n` });
    expect(jsonRecords(stdin.stdout).map((o) => [o.index, o.file, o.line])).toEqual([
      [0, "-", 2],
      [1, "-", 3],
    ]);
  });

  test("--nagios: every perfdata label is unique, a repeated one numbered as prometheus' nth", async () => {
    const file = writeFile("thrice.txt", `${open}\n${open} --timeout 2s\n`);
    const r = await run(fromSource, ["check", "--nagios", open, open, "--file", file]);
    expect(r.status).toBe(0);
    const perfdata = r.stdout.trim().split("|")[1]!;
    const labels = [...perfdata.matchAll(/'([^']*)'=/g)].map((m) => m[1]);
    const name = `tcp://${open}`;
    expect(labels).toEqual([name, `${name} #2`, `${name} #3`, `${name} #4`]);
    // Prometheus' series were already unique: the second of a kind has nth="2".
    const prom = await run(fromSource, ["check", "--prometheus", open, open]);
    expect(prom.stdout).toContain(
      `upcat_check_up{target="${name}",proto="tcp",host="127.0.0.1",port="${listener.port}",nth="2"} 1`,
    );
  });
});

describe("a reply of random bytes is reported without loss", () => {
  test("--json: reply_base64 is the bytes exactly; reply escapes them, reads back, has no U+FFFD", async () => {
    const before = sent().length;
    const r = await run(fromSource, ["check", "--json", "--expect", NEVER, ...Array(12).fill(random)]);
    expect(r.status).toBe(1);
    const records = jsonRecords(r.stdout);
    expect(records.map((o) => o.index)).toEqual([...Array(12).keys()]);
    const bytes = records.map((o) =>
      o.reply_base64 === undefined ? new TextEncoder().encode(o.reply) : Buffer.from(o.reply_base64, "base64"),
    );
    // The connections may be answered in any order: the replies are compared as a set.
    expect(bytes.map(hex).sort()).toEqual(sent().slice(before).sort());
    for (const [i, o] of records.entries()) {
      expect({ i, state: o.state }).toEqual({ i, state: "mismatch" });
      expect(o.reply).not.toContain("\ufffd");
      expect(hex(escapedBytes(o.reply))).toBe(hex(bytes[i]!));
    }
  });

  test("text and --nagios show the bytes as \\xNN, never U+FFFD", async () => {
    const text = await run(fromSource, ["check", "--expect", NEVER, ...Array(8).fill(random)]);
    expect(text.status).toBe(1);
    const lines = text.stdout.split("\n").filter(Boolean);
    expect(lines).toHaveLength(8);
    expect(text.stdout + text.stderr).not.toContain("\ufffd");
    expect(lines.some((line) => /\\x[0-9a-f]{2}/.test(line))).toBe(true);
    for (let i = 0; i < 4; i++) {
      const nagios = await run(fromSource, ["check", "--nagios", "--expect", NEVER, random]);
      expect(nagios.stdout).toStartWith(`TCP WARNING - Unexpected response from tcp://${random}`);
      expect(nagios.stdout).not.toContain("\ufffd");
    }
  });
});

describe("--file tells every bad line at once", () => {
  test("each as FILE:LINE: what is wrong, in line order, then exit 2 with nothing checked", async () => {
    const file = writeFile(
      "bad.txt",
      [
        `${open} --expct ok`,
        `${open}`,
        "# a comment",
        `${open} --timeout soon`,
        "bad::",
        `${open} --expect 'unterminated`,
        `${open} --json`,
      ].join("\n"),
    );
    const r = await run(fromSource, ["check", "--file", file]);
    expect(r).toMatchObject({ status: 2, stdout: "" });
    const lines = r.stderr.split("\n").filter(Boolean);
    expect(lines.map((l) => /^upcat: (.*?:\d+): /.exec(l)?.[1])).toEqual([1, 4, 5, 6, 7].map((n) => `${file}:${n}`));
    expect(lines[0]).toStartWith(`upcat: ${file}:1: unknown option --expct`);
    expect(lines[1]).toStartWith(`upcat: ${file}:4: invalid duration for --timeout`);
    expect(lines[4]).toStartWith(`upcat: ${file}:7: --json cannot be given for one target`);
    // One bad line reads as it always did: the one line.
    const one = await run(fromSource, ["check", "--file", writeFile("one.txt", `${open}\nbad::\n`)]);
    expect(one.status).toBe(2);
    expect(one.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  });

  test("a file of many bad lines: the first 20, then how many more", async () => {
    const file = writeFile("many.txt", `${Array(30).fill(`${open} --expct ok`).join("\n")}\n${open}\n`);
    const r = await run(fromSource, ["check", "--file", file]);
    expect(r.status).toBe(2);
    const lines = r.stderr.split("\n").filter(Boolean);
    expect(lines).toHaveLength(21);
    expect(lines.slice(0, 20).map((l) => /^upcat: .*?:(\d+): unknown option --expct/.exec(l)?.[1])).toEqual(
      [...Array(20).keys()].map((n) => String(n + 1)),
    );
    expect(lines[20]).toBe("upcat: and 10 more: 30 check lines are wrong, nothing was checked");
  });

  test("--nagios: UNKNOWN (3) on stdout, every bad line on stderr", async () => {
    const file = writeFile("nagios.txt", `${open} --expct ok\n${open} --timeout soon\n`);
    const r = await run(fromSource, ["check", "--nagios", "--file", file]);
    expect(r.status).toBe(3);
    expect(r.stdout).toStartWith(`UPCAT UNKNOWN - ${file}:2: invalid duration for --timeout`);
    expect(r.stderr).toStartWith(`upcat: ${file}:1: unknown option --expct`);
  });
});
