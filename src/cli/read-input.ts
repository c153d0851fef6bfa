// Reads what a file option names, bounded where it is read: --file streamed line by line up to its caps, and a small
// file (--ca, --quotes) only when it is a regular file under its size cap. No option reads a device, a FIFO or an
// endless stream into memory.
import type { FileHandle } from "node:fs/promises";
import { UsageError } from "../errors.ts";
import { cut, escapeControl } from "../text/shown.ts";
import type { Io } from "./io.ts";
import { lines } from "./lines.ts";

/** LineLimits are the most one --file is read for: lines, bytes a line (its terminator aside), and bytes in all. */
export interface LineLimits {
  readonly lines: number;
  readonly lineBytes: number;
  readonly bytes: number;
}

/**
 * FILE_LIMITS bound --file. A check takes at most 65535 targets (one line may name a port range), so 100 000 lines
 * leave room for comments; 64 KiB holds any line a person writes (a --send body included); 8 MiB in all is 65535
 * lines of 128 bytes. Parsed, a file costs up to about 40 times its size (check-line builds a word a character at a
 * time: an 8 MiB file of long words took about 320 MB), and the cap in bytes is what keeps that bounded.
 */
export const FILE_LIMITS: LineLimits = { lines: 100_000, lineBytes: 64 << 10, bytes: 8 << 20 };

/** MAX_CA_FILE bounds --ca: a PEM bundle of every CA a system trusts is about 200 KiB. */
export const MAX_CA_FILE = 1 << 20;

/** MAX_CA_FILES bounds the --ca files of one check (each line may name its own): 64 MiB at most in all. */
export const MAX_CA_FILES = 64;

/** InputLine is one line of a --file: its number from 1, and its text without "\n" or "\r\n". */
export interface InputLine {
  readonly number: number;
  /** where names the line in a message: `fleet.txt:3`, `stdin:3`. */
  readonly where: string;
  readonly text: string;
  /** utf8 is false where the line was not valid UTF-8: text then holds U+FFFD for each bad sequence. */
  readonly utf8: boolean;
}

/** shownPath is a path as a message names it: control characters escaped, a long one cut. */
export function shownPath(path: string): string {
  return escapeControl(cut(path));
}

/**
 * readLines streams the lines of --file PATH (`-` is stdin; a FIFO or a device is read as a stream), stopping with a
 * UsageError at the first cap it passes: never more than one line past a cap is held.
 */
export async function* readLines(
  path: string,
  io: Pick<Io, "stdin">,
  option = "--file",
  limits: LineLimits = FILE_LIMITS,
): AsyncGenerator<InputLine> {
  if (path === "-") {
    yield* linesOf(io.stdin(), { option, whole: `${option} -`, name: "stdin" }, limits);
    return;
  }
  const shown = shownPath(path);
  let file: FileHandle;
  try {
    file = await fsPromises().open(path, "r");
  } catch (err) {
    throw cannotRead(option, path, err);
  }
  try {
    // Linux opens a directory for reading: its first read fails, so say so before.
    if ((await file.stat()).isDirectory()) throw new UsageError(`cannot read ${option} ${shown}: is a directory`);
    yield* linesOf(chunksOf(file, option, path), { option, whole: `${option} ${shown}`, name: shown }, limits);
  } finally {
    await file.close();
  }
}

/** chunksOf reads an open file in fresh chunks (the line splitter keeps pieces of them), as far as it is asked. */
async function* chunksOf(file: FileHandle, option: string, path: string): AsyncGenerator<Uint8Array> {
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 << 10);
    let got: number;
    try {
      got = (await file.read(chunk, 0, chunk.length, null)).bytesRead;
    } catch (err) {
      throw cannotRead(option, path, err);
    }
    if (got === 0) return;
    yield chunk.subarray(0, got);
  }
}

/** Origin names an input in messages: `option` and `whole` for all of it (`--file fleet.txt`), `name` for a line. */
export interface Origin {
  readonly option: string;
  readonly whole: string;
  readonly name: string;
}

/** linesOf splits a byte stream into numbered lines, stopping with a UsageError at the first cap it passes. */
export async function* linesOf(
  source: AsyncIterable<Uint8Array>,
  origin: Origin,
  limits: LineLimits = FILE_LIMITS,
): AsyncGenerator<InputLine> {
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
  const most = `(the most ${origin.option} reads)`;
  const tooLong = (number: number) =>
    new UsageError(`${origin.name}:${number}: a line is longer than ${limits.lineBytes} bytes ${most}`);
  let number = 0;
  let bytes = 0;
  // The splitter's own bound stops an unfinished line (/dev/zero has no "\n") about one chunk past the cap; its
  // held bytes may end in the "\r" of a CRLF, hence the one byte more.
  const split = lines(source, limits.lineBytes + 1)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await split.next();
      } catch (err) {
        if (err instanceof UsageError) throw tooLong(number + 1);
        throw err;
      }
      if (next.done) return;
      let line = next.value;
      number++;
      bytes += line.length;
      if (number > limits.lines) throw new UsageError(`${origin.whole}: more than ${limits.lines} lines ${most}`);
      if (bytes > limits.bytes) throw new UsageError(`${origin.whole}: more than ${limits.bytes} bytes ${most}`);
      let end = line.length;
      if (end > 0 && line[end - 1] === 10) end--;
      if (end > 0 && line[end - 1] === 13) end--;
      if (end > limits.lineBytes) throw tooLong(number);
      line = line.subarray(0, end);
      // A byte-order mark opens a file written by some Windows editors; it is no part of the first target.
      if (number === 1 && line[0] === 0xef && line[1] === 0xbb && line[2] === 0xbf) line = line.subarray(3);
      let text: string;
      let utf8 = true;
      try {
        text = strict.decode(line);
      } catch {
        text = lenient.decode(line);
        utf8 = false;
      }
      yield { number, where: `${origin.name}:${number}`, text, utf8 };
    }
  } finally {
    // Stopped early (a cap, or the reader's own error): the source is let go, so a pipe's writer sees it closed.
    await split.return?.(undefined);
  }
}

/**
 * readSmallFile reads an option's file whole: a regular file of at most max bytes, read no further than that (it may
 * grow after the stat), so /dev/zero, a FIFO, a directory or a huge file is refused instead of read until memory runs
 * out. The open is non-blocking: a FIFO with no writer is refused, not waited for. A file that cannot be opened
 * throws the system's error (each option words it its own way); every other refusal is a UsageError.
 */
export function readSmallFile(path: string, option: string, max: number): Uint8Array {
  const shown = shownPath(path);
  const { closeSync, constants, fstatSync, openSync, readSync } = fs();
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new UsageError(`${option} ${shown} is not a regular file`);
    if (stat.size > max) throw new UsageError(`${option} ${shown} is ${stat.size} bytes; at most ${max} are read`);
    // One byte past the cap tells a file that grew after the stat.
    const buf = Buffer.alloc(max + 1);
    let got = 0;
    for (let n: number; got < buf.length && (n = readSync(fd, buf, got, buf.length - got, null)) > 0; ) got += n;
    if (got > max) throw new UsageError(`${option} ${shown} is over ${max} bytes; at most ${max} are read`);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** REASONS are the words for why a file option's file could not be opened. */
const REASONS: Record<string, string> = {
  ENOENT: "no such file",
  ENOTDIR: "no such file",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "is a directory",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "the name is too long",
};

/** cannotRead words a failed open or read of an option's file: `cannot read --ca x.pem: no such file`. */
export function cannotRead(option: string, path: string, err: unknown): UsageError {
  const code = (err as { code?: unknown } | null)?.code;
  const why = (typeof code === "string" && REASONS[code]) || (err instanceof Error ? err.message : String(err));
  return new UsageError(`cannot read ${option} ${shownPath(path)}: ${cut(why)}`);
}

/**
 * node:fs is loaded when a file is read, not when a command that may read one starts (`serve`, whose --quotes is
 * rarely given): its import costs a compiled hello-world 6 MB of memory (30.3 against 24.4 MB, Bun 1.4.5), as node:net
 * does. Without either at its start, a compiled `serve` is 42.0 MB idle, against 44.4.
 */
const fs = () => require("node:fs") as typeof import("node:fs");
const fsPromises = () => require("node:fs/promises") as typeof import("node:fs/promises");
