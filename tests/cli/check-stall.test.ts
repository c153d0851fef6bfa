// A check's verdicts and latencies are the targets', not its reader's or its scheduler's: a slow reader of the report
// (a pipe that fills), or the process stopped for longer than --timeout (SIGSTOP: a paused container or VM), must not
// turn a port that answered at once into a timeout. Both did: the report's blocking write held the event loop, and
// the timers that came due meanwhile fired before the connections that had come in time.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonRecords } from "../check/json-records.ts";
import { requireTool, runPeer, startPeer } from "../support/peers.ts";
import { fromSource } from "../support/run.ts";
import { selfSigned } from "../verdicts/pki.ts";
import { startNginx } from "../verdicts/servers.ts";

/** A TCP listener no one here wrote: python3 accepting (backlog 4096) and closing each connection at once. */
const ACCEPTOR =
  "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n" +
  "s.bind(('127.0.0.1',0))\ns.listen(4096)\nprint(s.getsockname()[1],flush=True)\n" +
  "while True:\n  c,_=s.accept()\n  c.close()\n";
/** A UDP server no one here wrote: the textbook's, python3 answering each datagram in uppercase. */
const UPPER =
  "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('127.0.0.1',0))\n" +
  "print(s.getsockname()[1],flush=True)\nwhile True:\n  m,a=s.recvfrom(2048)\n  s.sendto(m.upper(),a)\n";
/** A UDP port that is bound and never answers: python3 holding the socket, reading nothing. */
const SILENT =
  "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('127.0.0.1',0))\n" +
  "print(s.getsockname()[1],flush=True)\ntime.sleep(3600)\n";

let tcp: { proc: Subprocess; port: number };
let udp: { proc: Subprocess; port: number };
let silent: { proc: Subprocess; port: number };
let nginx: { http: number; stop(): void };
const dir = mkdtempSync(join(tmpdir(), "upcat-check-stall-"));

beforeAll(async () => {
  const python = requireTool("python3");
  const a = await startPeer([python, "-c", ACCEPTOR], /^(\d+)\n/);
  tcp = { proc: a.proc, port: Number(a.match[1]) };
  const u = await startPeer([python, "-c", UPPER], /^(\d+)\n/);
  udp = { proc: u.proc, port: Number(u.match[1]) };
  const q = await startPeer([python, "-c", SILENT], /^(\d+)\n/);
  silent = { proc: q.proc, port: Number(q.match[1]) };
  nginx = await startNginx(mkdtempSync(join(dir, "nginx-")), selfSigned(dir, "localhost"));
  // The oracle: netcat says the port is open.
  expect((await runPeer([requireTool("nc"), "-z", "127.0.0.1", String(tcp.port)])).status).toBe(0);
});
afterAll(() => {
  tcp.proc.kill("SIGKILL");
  udp.proc.kill("SIGKILL");
  silent.proc.kill("SIGKILL");
  nginx.stop();
  rmSync(dir, { recursive: true, force: true });
});

const targets = (n: number, scheme = "", port = tcp.port) =>
  Array.from({ length: n }, () => `${scheme}127.0.0.1:${port}`);
const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** throughSlowReader runs upcat with its stdout (and stderr, with 2>&1) into a pipe nobody reads for `sleepS`. */
async function throughSlowReader(args: string[], opts: { sleepS: number; both?: boolean }) {
  const upcat = [...fromSource.argv, ...args].map(quote).join(" ");
  const redirect = opts.both ? " 2>&1" : "";
  const script = `${upcat}${redirect} | { sleep ${opts.sleepS}; cat; }; echo "status $\{PIPESTATUS[0]}" >&2`;
  const proc = Bun.spawn(["bash", "-c", script], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...fromSource.env, NO_COLOR: "1" },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  return { stdout, stderr };
}

const slowest = (records: { latency_ms: number }[]) => Math.max(...records.map((r) => r.latency_ms));

describe("a slow reader of check's report", () => {
  test("-- CMD: the report goes to stderr, into a pipe nobody reads for 3 s; 400 checks of an open port all pass, in " +
    "well under --timeout, and CMD runs with its stderr still blocking", async () => {
    // CMD shows the flags of its stderr: O_NONBLOCK there (04000) would make its writes fail with EAGAIN.
    const cmd = ["sh", "-c", "echo cmd-out; grep ^flags /proc/self/fdinfo/2 >&2"];
    const r = await throughSlowReader(
      ["check", "--json", "--concurrency", "50", "--timeout", "1s", ...targets(400), "--", ...cmd],
      { sleepS: 3, both: true },
    );
    expect(r.stderr).toBe("status 0\n");
    const lines = r.stdout.split("\n");
    const records = jsonRecords(lines.filter((l) => l.startsWith("{")).join("\n"));
    expect(records.length).toBe(400);
    expect(records.filter((x) => x.state !== "open")).toEqual([]);
    // Before, 21 of 400 were "no connection within 2000ms", at 5.9 s.
    expect(slowest(records)).toBeLessThan(500);
    expect(lines).toContain("cmd-out");
    const flags = lines.find((l) => l.startsWith("flags:"));
    expect(flags).toBeDefined();
    expect(Number.parseInt(flags!.split(/\s+/)[1]!, 8) & 0o4000).toBe(0);
  }, 40_000);

  test("--json on stdout into a pipe nobody reads for 3 s: 2000 checks keep their own latencies", async () => {
    const r = await throughSlowReader(["check", "--json", "--concurrency", "50", "--timeout", "1s", ...targets(2000)], {
      sleepS: 3,
    });
    expect(r.stderr).toBe("status 0\n");
    const records = jsonRecords(r.stdout);
    expect(records.length).toBe(2000);
    expect(records.filter((x) => x.state !== "open")).toEqual([]);
    // Before, the checks in flight when the pipe filled were timed at the reader's pace: 3.9 s.
    expect(slowest(records)).toBeLessThan(500);
  }, 40_000);

  test("into a closed pipe (| head -c 100): exit 0, and nothing on stderr", async () => {
    for (const output of [["--json"], []]) {
      const upcat = [...fromSource.argv, "check", ...output, "--concurrency", "50", ...targets(2000)]
        .map(quote)
        .join(" ");
      const proc = Bun.spawn(["bash", "-c", `${upcat} | head -c 100 > /dev/null; echo "status $\{PIPESTATUS[0]}"`], {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        env: { ...fromSource.env, NO_COLOR: "1" },
      });
      const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      await proc.exited;
      expect({ output, stdout, stderr }).toEqual({ output, stdout: "status 0\n", stderr: "" });
    }
  }, 30_000);
});

/**
 * stoppedMidway starts a check and stops it (SIGSTOP) for `stopMs` each time its output passes one of `atLines`, then
 * lets it go on. A stop while the loop waits for I/O is harmless (the poll delivers first); one while it runs is
 * what the test is for, so it stops more than once.
 */
async function stoppedMidway(args: string[], atLines: number[], stopMs: number) {
  const proc = Bun.spawn([...fromSource.argv, "check", ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...fromSource.env, NO_COLOR: "1" },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  const reader = proc.stdout.getReader();
  let text = "";
  let stops = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    if (stops < atLines.length && text.split("\n").length > atLines[stops]!) {
      stops++;
      proc.kill("SIGSTOP");
      await Bun.sleep(stopMs);
      proc.kill("SIGCONT");
    }
  }
  const stderr = await new Response(proc.stderr).text();
  const status = await proc.exited;
  clearTimeout(timer);
  return { stops, status, stderr, records: jsonRecords(text) };
}

/** expectAllPassed: the check was stopped `stops` times, and every one of `count` targets passed, with exit 0. */
function expectAllPassed(r: Awaited<ReturnType<typeof stoppedMidway>>, stops: number, count: number) {
  expect(r.stops).toBe(stops);
  expect(r.records.length).toBe(count);
  expect(r.records.filter((x) => x.state !== "open").map((x) => x.error)).toEqual([]);
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
}

describe("a check stopped (SIGSTOP) for longer than --timeout, then continued", () => {
  test("TCP: the connections that came while it was stopped are open, not timeouts", async () => {
    const r = await stoppedMidway(
      ["--json", "--concurrency", "100", "--timeout", "1s", ...targets(6000)],
      [1, 2000, 4000],
      1200,
    );
    // Before, those in flight at a stop were timeouts: 44 "no connection within 1000ms" in one run.
    expectAllPassed(r, 3, 6000);
  }, 40_000);

  test("UDP: the replies that came while it was stopped pass", async () => {
    const args = ["--json", "--concurrency", "100", "--timeout", "1s", "--send", "hi", "--expect", "HI"];
    const r = await stoppedMidway([...args, ...targets(6000, "udp://", udp.port)], [1000, 3000], 1200);
    // Before: 13 "no reply within 1000ms" in one run.
    expectAllPassed(r, 2, 6000);
  }, 40_000);

  test("HTTP (nginx): the responses that came while it was stopped pass", async () => {
    // Bun's fetch works on a thread of its own: what it has read reaches the main thread as a task, after a stop too.
    const file = join(dir, "http-targets");
    writeFileSync(file, `http://127.0.0.1:${nginx.http}/\n`.repeat(10_000));
    const args = ["--json", "--concurrency", "20", "--timeout", "1s", "--file", file];
    const stops = Array.from({ length: 8 }, (_, i) => 1000 * (i + 1));
    const r = await stoppedMidway(args, stops, 1200);
    // Before the time limits counted only this process's time: 40 and 44 "no HTTP response within 1000ms" in two
    // runs; then, with one more look after a late timer, still 1 to 20 in 20 stops: a try held up before fetch had
    // sent it, or before its timer was armed, had its time gone. 20 at once: the test's nginx takes 64 connections.
    expectAllPassed(r, stops.length, 10_000);
  }, 60_000);

  test("a silent target stays 'no reply', and a stop stretches a try to twice --timeout at most", async () => {
    // One at a time: the stop comes just after the first timeout, while the second try has all of its second left.
    const r = await stoppedMidway(
      ["--json", "--concurrency", "1", "--timeout", "1s", ...targets(3, "udp://", silent.port)],
      [1],
      1500,
    );
    expect(r.stops).toBe(1);
    expect(r.records.map((x) => x.state)).toEqual(["no_reply", "no_reply", "no_reply"]);
    expect(r.records.map((x) => x.error)).toEqual(Array(3).fill("no reply within 1000ms"));
    const [first, stopped, last] = r.records.map((x) => x.latency_ms) as [number, number, number];
    // The stopped try was given back what the stop took from it, up to --timeout: about 2 s, not 1.5 s, nor more.
    expect(stopped).toBeGreaterThan(1700);
    expect(stopped).toBeLessThan(2300);
    for (const ms of [first, last]) expect(ms).toBeLessThan(1300);
    expect(r.status).toBe(1);
  }, 30_000);
});
