// The bounded readers of file options: --file's lines within their caps, and --ca's and --quotes' small regular files.
import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../src/errors.ts";
import {
  cannotRead,
  FILE_LIMITS,
  type LineLimits,
  linesOf,
  readLines,
  readSmallFile,
  shownPath,
} from "../../src/cli/read-input.ts";

const dir = mkdtempSync(join(tmpdir(), "upcat-read-input-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ORIGIN = { option: "--file", whole: "--file f.txt", name: "f.txt" };
const WIDE: LineLimits = { lines: 100, lineBytes: 100, bytes: 10_000 };

/** source yields each part as one chunk, and counts how many chunks were asked for and whether it was let go. */
function source(parts: (string | Uint8Array)[]) {
  const seen = { pulled: 0, released: false };
  async function* chunks() {
    try {
      for (const p of parts) {
        seen.pulled++;
        yield typeof p === "string" ? new TextEncoder().encode(p) : p;
      }
    } finally {
      seen.released = true;
    }
  }
  return { chunks: chunks(), seen };
}

async function collect(parts: (string | Uint8Array)[], limits = WIDE) {
  const out: [number, string, boolean][] = [];
  for await (const l of linesOf(source(parts).chunks, ORIGIN, limits)) out.push([l.number, l.text, l.utf8]);
  return out;
}

describe("linesOf", () => {
  test.each([
    [
      "lines, numbered from 1",
      ["a\nb\n"],
      [
        [1, "a", true],
        [2, "b", true],
      ],
    ],
    [
      "the last line needs no newline",
      ["a\nb"],
      [
        [1, "a", true],
        [2, "b", true],
      ],
    ],
    [
      "chunk boundaries are invisible",
      ["12", "7.0.", "0.1:1\n# c", "\n"],
      [
        [1, "127.0.0.1:1", true],
        [2, "# c", true],
      ],
    ],
    [
      "CRLF: the \\r goes with the \\n",
      ["a\r\nb\r\n"],
      [
        [1, "a", true],
        [2, "b", true],
      ],
    ],
    [
      "blank lines keep their numbers",
      ["\n\nx\n"],
      [
        [1, "", true],
        [2, "", true],
        [3, "x", true],
      ],
    ],
    [
      "a BOM opens the first line only",
      ["\uFEFFa\n\uFEFFb\n"],
      [
        [1, "a", true],
        [2, "\uFEFFb", true],
      ],
    ],
    ["nothing at all", [], []],
    [
      "bytes that are not UTF-8: U+FFFD, flagged",
      [new Uint8Array([0x68, 0xff, 0x0a, 0xc3, 0xa9, 0x0a])],
      [
        [1, "h\uFFFD", false],
        [2, "é", true],
      ],
    ],
    ["a line exactly at the length cap (its CRLF aside)", [`${"x".repeat(100)}\r\n`], [[1, "x".repeat(100), true]]],
  ] as const)("%s", async (_, parts, want) => {
    expect(await collect([...parts])).toEqual(want.map((l) => [...l]));
  });

  test.each([
    ["more lines than the cap", ["a\n".repeat(101)], "--file f.txt: more than 100 lines (the most --file reads)"],
    [
      "a long line ended by \\n",
      ["ok\n", `${"x".repeat(101)}\n`],
      "f.txt:2: a line is longer than 100 bytes (the most --file reads)",
    ],
    ["a long line at the end", ["x".repeat(101)], "f.txt:1: a line is longer than 100 bytes (the most --file reads)"],
    [
      "more bytes than the cap",
      [`${"y".repeat(100)}\n`.repeat(100)],
      "--file f.txt: more than 10000 bytes (the most --file reads)",
    ],
  ])("%s: a UsageError naming the cap", async (_, parts, message) => {
    const err = await collect(parts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(message);
  });

  test("a line without end (/dev/zero) stops about one chunk past the cap, and the source is let go", async () => {
    const chunk = new Uint8Array(64 << 10);
    const { chunks, seen } = source(Array.from({ length: 1000 }, () => chunk));
    const lines = linesOf(chunks, ORIGIN, FILE_LIMITS);
    await expect(lines.next()).rejects.toThrow("f.txt:1: a line is longer than 65536 bytes (the most --file reads)");
    expect(seen.pulled).toBeLessThanOrEqual(2);
    expect(seen.released).toBe(true);
  });

  test("a reader that stops early lets the source go", async () => {
    const { chunks, seen } = source(["a\n", "b\n", "c\n"]);
    for await (const _ of linesOf(chunks, ORIGIN, WIDE)) break;
    expect(seen).toEqual({ pulled: 1, released: true });
  });

  test("the caps of --file", () => {
    expect(FILE_LIMITS).toEqual({ lines: 100_000, lineBytes: 65_536, bytes: 8_388_608 });
  });
});

describe("readLines", () => {
  const noStdin = { stdin: () => (async function* () {})() };

  test("a file, with where each line is", async () => {
    const path = join(dir, "fleet.txt");
    writeFileSync(path, "# fleet\n127.0.0.1:1\n");
    const got = [];
    for await (const l of readLines(path, noStdin)) got.push([l.where, l.text]);
    expect(got).toEqual([
      [`${path}:1`, "# fleet"],
      [`${path}:2`, "127.0.0.1:1"],
    ]);
  });

  test("- is stdin, named stdin", async () => {
    const io = { stdin: () => source(["x\n"]).chunks };
    const got = [];
    for await (const l of readLines("-", io)) got.push(l.where);
    expect(got).toEqual(["stdin:1"]);
  });

  test.each([
    ["/no/such/file", "cannot read --file /no/such/file: no such file"],
    [dir, `cannot read --file ${dir}: is a directory`],
    [`${dir}/a\nb`, `cannot read --file ${dir}/a\\nb: no such file`],
  ])("%p is refused with one line", async (path, message) => {
    const err = await readLines(path, noStdin)
      .next()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(message);
  });
});

describe("readSmallFile", () => {
  test("a regular file under the cap is read whole", () => {
    const path = join(dir, "ca.pem");
    writeFileSync(path, "-----BEGIN CERTIFICATE-----\n");
    expect(new TextDecoder().decode(readSmallFile(path, "--ca", 1 << 20))).toBe("-----BEGIN CERTIFICATE-----\n");
  });

  const fifo = join(dir, "fifo");
  execFileSync("mkfifo", [fifo]);
  const big = join(dir, "big");
  writeFileSync(big, "z".repeat(101));
  test.each([
    ["/dev/zero", "--ca /dev/zero is not a regular file"],
    [dir, `--ca ${dir} is not a regular file`],
    // Opened without blocking: a FIFO with no writer is refused at once, not waited for.
    [fifo, `--ca ${fifo} is not a regular file`],
    [big, `--ca ${big} is 101 bytes; at most 100 are read`],
    // /proc's files say they are 0 bytes and are not: the cap holds while reading too, as for a file that grows.
    ["/proc/self/maps", "--ca /proc/self/maps is over 100 bytes; at most 100 are read"],
  ])("%p is refused with a UsageError", (path, message) => {
    expect(() => readSmallFile(path, "--ca", 100)).toThrow(new UsageError(message));
  });

  test("a file that cannot be opened throws the system's error, which cannotRead words", () => {
    let err: unknown;
    try {
      readSmallFile("/no/such.pem", "--ca", 100);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe("ENOENT");
    expect(cannotRead("--ca", "/no/such.pem", err).message).toBe("cannot read --ca /no/such.pem: no such file");
    expect(cannotRead("--ca", "x", Object.assign(new Error("odd"), { code: "EIO" })).message).toBe(
      "cannot read --ca x: odd",
    );
  });
});

test("shownPath escapes control characters and cuts a long path", () => {
  expect(shownPath("a\u001b[2Jb")).toBe("a\\e[2Jb");
  expect(shownPath("p".repeat(5000)).length).toBeLessThan(200);
});
