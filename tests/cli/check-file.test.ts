// `upcat check --file` and `--ca` against endless and oversized inputs (a pipe from yes, /dev/zero, a FIFO whose
// writer never stops, a 40 MB line, too many lines): each ends at its cap with exit 2 and one short line, quickly
// and in bounded memory; and the good paths (comments, per-line options, stdin, a bash <(...) FIFO) still work.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket, TCPSocketListener } from "bun";
import { jsonRecords } from "../check/json-records.ts";
import { figure } from "../support/figures.ts";
import { fromSource, run } from "../support/run.ts";

const MAIN = fromSource.argv[1]!;
/** MAX_RSS is far above what upcat needs here (about 100 MB) and far below what reading these inputs whole took. */
const MAX_RSS = 300 << 20;
/** MAX_MS: each input is refused well within it (under a second on 2 cores). */
const MAX_MS = 5000;

const dir = mkdtempSync(join(tmpdir(), "upcat-check-file-"));
let upper: TCPSocketListener<undefined>;
let target: string;

beforeAll(() => {
  // Answers each read in capitals: a line's own --send and --expect are checked against it.
  upper = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { data: (s: Socket<undefined>, d) => void s.write(Buffer.from(d).toString().toUpperCase()) },
  });
  target = `127.0.0.1:${upper.port}`;
});
afterAll(() => {
  upper.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

interface Measured {
  status: number;
  stderr: string;
  stdout: string;
  ms: number;
  maxRss: number;
}

/** peakOf reads the kernel's high-water mark of a process's resident memory (VmHWM), in bytes; 0 once it is gone. */
function peakOf(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/**
 * check runs `upcat check ARGS` from source with stdin from `stdin`, killed at 15 s. maxRss is VmHWM sampled while it
 * runs (a high-water mark: a later sample holds every earlier peak); not the rusage of the child, which on Linux
 * counts the memory of the test process that spawned it.
 */
async function check(args: string[], stdin: ReadableStream<Uint8Array> | Blob | "ignore" = "ignore") {
  const started = performance.now();
  const proc = Bun.spawn([process.execPath, MAIN, "check", ...args], {
    stdin,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...fromSource.env, NO_COLOR: "1" },
  });
  let maxRss = 0;
  const sampler = setInterval(() => {
    maxRss = Math.max(maxRss, peakOf(proc.pid));
  }, 5);
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  const [stdout, stderr, status] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  clearInterval(sampler);
  const ms = performance.now() - started;
  return { status, stdout, stderr, ms, maxRss } satisfies Measured;
}

/** refused asserts a run stopped at a cap: exit 2, nothing on stdout, one short line, quick and in bounded memory. */
function refused(r: Measured, message: string) {
  figure(`check --file caps: ${r.ms.toFixed(0)} ms, peak RSS ${(r.maxRss / 2 ** 20).toFixed(0)} MiB: ${message}`);
  expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
    status: 2,
    stdout: "",
    stderr: `upcat: ${message}\n`,
  });
  expect(Buffer.byteLength(r.stderr)).toBeLessThan(300);
  expect(r.ms).toBeLessThan(MAX_MS);
  expect(r.maxRss).toBeGreaterThan(0);
  expect(r.maxRss).toBeLessThan(MAX_RSS);
}

/** endless runs a producer that never stops by itself (yes), for as long as the test needs it. */
function endless(argv: string[]) {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
  return { stdout: proc.stdout, stop: () => (proc.kill("SIGKILL"), proc.exited) };
}

describe("an input without end stops at a cap", () => {
  test("yes 127.0.0.1:1 | upcat check --file -: at the targets one check takes", async () => {
    const yes = endless(["yes", "127.0.0.1:1"]);
    try {
      refused(
        await check(["--file", "-"], yes.stdout),
        "stdin:65536: more than 65535 targets in one check; split the ranges over several runs",
      );
    } finally {
      await yes.stop();
    }
  });

  test("yes '# comment' | upcat check --file -: at 100000 lines", async () => {
    const yes = endless(["yes", "# comment"]);
    try {
      refused(await check(["--file", "-"], yes.stdout), "--file -: more than 100000 lines (the most --file reads)");
    } finally {
      await yes.stop();
    }
  });

  test("--file /dev/zero: at the length of its first line", async () => {
    refused(
      await check(["--file", "/dev/zero"]),
      "/dev/zero:1: a line is longer than 65536 bytes (the most --file reads)",
    );
  });

  test("--file FIFO whose writer never stops: read as a stream, up to the cap", async () => {
    const fifo = join(dir, "endless.fifo");
    execFileSync("mkfifo", [fifo]);
    const writer = Bun.spawn(["sh", "-c", `exec yes '# comment' > '${fifo}'`], { stdin: "ignore", stderr: "ignore" });
    try {
      refused(await check(["--file", fifo]), `--file ${fifo}: more than 100000 lines (the most --file reads)`);
    } finally {
      writer.kill("SIGKILL");
      await writer.exited;
    }
  });
});

describe("an oversized file stops at a cap, and is not quoted whole", () => {
  test("one 40 MB line", async () => {
    const path = join(dir, "long.txt");
    writeFileSync(path, `127.0.0.1:1 --send '${"x".repeat(40_000_000)}'\n`);
    refused(await check(["--file", path]), `${path}:1: a line is longer than 65536 bytes (the most --file reads)`);
  });

  test("100 001 lines", async () => {
    const path = join(dir, "many.txt");
    writeFileSync(path, `${target}\n${"# a comment\n".repeat(100_000)}`);
    refused(await check(["--file", path]), `--file ${path}: more than 100000 lines (the most --file reads)`);
  });

  test("more than 8 MiB", async () => {
    const path = join(dir, "big.txt");
    writeFileSync(path, `# ${"c".repeat(97)}\n`.repeat(90_000));
    refused(await check(["--file", path]), `--file ${path}: more than 8388608 bytes (the most --file reads)`);
  });
});

describe("what --file refuses", () => {
  test("a directory", async () => {
    refused(await check(["--file", dir]), `cannot read --file ${dir}: is a directory`);
  });

  test("a target that is not UTF-8 (it could not be sent as written); such bytes in a comment are fine", async () => {
    const path = join(dir, "latin1.txt");
    writeFileSync(
      path,
      Buffer.concat([Buffer.from(`# caf\xe9\n${target} # caf`, "latin1"), Buffer.from([0xe9, 0x0a])]),
    );
    const ok = await check(["--quiet", "--file", path]);
    expect({ status: ok.status, stderr: ok.stderr }).toEqual({ status: 0, stderr: "" });
    writeFileSync(path, Buffer.concat([Buffer.from(`${target} --expect caf`), Buffer.from([0xe9, 0x0a])]));
    refused(await check(["--file", path]), `${path}:1: "caf\uFFFD" is not valid UTF-8; --file is read as UTF-8`);
  });
});

describe("--ca is a regular file under 1 MiB", () => {
  test.each([
    ["/dev/zero", () => "/dev/zero", "--ca /dev/zero is not a regular file"],
    ["a directory", () => dir, `--ca ${dir} is not a regular file`],
    [
      "a FIFO (no writer: refused, not waited for)",
      () => (execFileSync("mkfifo", [join(dir, "ca.fifo")]), join(dir, "ca.fifo")),
      `--ca ${join(dir, "ca.fifo")} is not a regular file`,
    ],
    [
      "a file over 1 MiB",
      () => (writeFileSync(join(dir, "big.pem"), "a".repeat((1 << 20) + 1)), join(dir, "big.pem")),
      `--ca ${join(dir, "big.pem")} is 1048577 bytes; at most 1048576 are read`,
    ],
  ])("check --tls --ca %s: exit 2 before any connection", async (_, path, message) => {
    refused(await check(["--tls", "--ca", path(), "127.0.0.1:1"]), message);
  });

  test("on a --file line, with the line named", async () => {
    const path = join(dir, "ca-line.txt");
    writeFileSync(path, `# tls\n127.0.0.1:1 --tls --ca /dev/zero\n`);
    refused(await check(["--file", path]), `${path}:2: --ca /dev/zero is not a regular file`);
  });

  test("at most 64 --ca files in one check (each line may name its own)", async () => {
    const cas = join(dir, "cas");
    mkdirSync(cas);
    const lines = Array.from({ length: 65 }, (_, i) => {
      writeFileSync(join(cas, `${i}.pem`), "not read as PEM before every file is read\n");
      return `127.0.0.1:1 --tls --ca ${join(cas, `${i}.pem`)}`;
    });
    const path = join(dir, "many-ca.txt");
    writeFileSync(path, `${lines.join("\n")}\n`);
    refused(await check(["--file", path]), `${path}:65: more than 64 --ca files in one check`);
  });
});

describe("the good paths still work", () => {
  test("a file with comments, blank lines, CRLF, a BOM and per-line options", async () => {
    const path = join(dir, "runbook.txt");
    writeFileSync(
      path,
      `\uFEFF# the runbook\r\n\r\n${target} --send 'ping\\n' --expect PING   # per-line options\r\n` +
        `${target} --send abc --expect ABC\n${target}`,
    );
    const r = await check(["--json", "--file", path]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(jsonRecords(r.stdout).map((l) => [l.state, l.reply])).toEqual([
      ["open", "PING\n"],
      ["open", "ABC"],
      ["open", null],
    ]);
  });

  test("--file - from a pipe", async () => {
    const r = await check(["--json", "--file", "-"], new Blob([`# from a pipe\n${target} --send hi --expect HI\n`]));
    expect(r.status).toBe(0);
    expect(jsonRecords(r.stdout).map((l) => l.reply)).toEqual(["HI"]);
  });

  test("--file <(printf ...) through bash: a FIFO read to its end", async () => {
    const r = await run(
      { argv: ["bash", "-c", `"$0" "$1" check --json --file <(printf '# fifo\\n%s\\n' "$2")`], env: fromSource.env },
      [process.execPath, MAIN, target],
    );
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(jsonRecords(r.stdout).map((l) => l.port)).toEqual([upper.port]);
  });
});
