// Where the cli writes: data to stdout, diagnostics to stderr, colour only on a terminal without NO_COLOR.
import { createColors } from "picocolors";

type Colors = ReturnType<typeof createColors>;

/** Io is the cli's view of the process's streams. */
export interface Io {
  readonly stdoutIsTTY: boolean;
  readonly stdinIsTTY: boolean;
  /** out queues data (replies, results) for stdout; flush waits until it is written. */
  out(data: string | Uint8Array): void;
  flush(): Promise<void>;
  /** err writes one diagnostic line to stderr. */
  err(line: string): void;
  /** prompt asks on stderr, without a newline, as the textbook's raw_input does. */
  prompt(text: string): void;
  /** statusLive: a live status line can be shown (stderr is a terminal). */
  readonly statusLive: boolean;
  /** status shows one line of progress in place on stderr when statusLive, replacing the last; undefined clears it. */
  status(line: string | undefined): void;
  /** stdin is standard input as bytes. */
  stdin(): AsyncIterable<Uint8Array>;
  /** errColor colours text bound for stderr. */
  readonly errColor: Colors;
  readonly outColor: Colors;
}

function wantsColor(isTTY: boolean): boolean {
  return isTTY && !process.env.NO_COLOR;
}

/**
 * processIo binds Io to this process's streams. When stdout's reader goes away (`| head`), every
 * write from then on fails with EPIPE: `readerGone` is called at the first, and must stop the process
 * (the whole command, which could otherwise read from the network for ever with nowhere to write).
 */
export function processIo(readerGone: () => void): Io {
  // Through process.stdout, not Bun.stdout.writer(): Bun's writer, written to from a socket's data
  // handler, closes itself on EPIPE and then takes every later write and flush silently (Bun 1.4.5).
  let lastWrite: Promise<void> = Promise.resolve();
  let broken: Error | undefined;
  const failed = (err: Error) => {
    if ((err as { code?: unknown }).code === "EPIPE") readerGone();
    broken ??= err;
  };
  process.stdout.on("error", failed);
  return {
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stdinIsTTY: Boolean(process.stdin.isTTY),
    out(data) {
      lastWrite = new Promise<void>((done) =>
        process.stdout.write(data, (err) => {
          if (err) failed(err);
          done();
        }),
      );
    },
    async flush() {
      await lastWrite;
      if (broken) throw broken;
    },
    err(line) {
      process.stderr.write(`${line}\n`);
    },
    prompt(text) {
      process.stderr.write(text);
    },
    statusLive: Boolean(process.stderr.isTTY),
    status(line) {
      if (process.stderr.isTTY) process.stderr.write(line === undefined ? "\r\x1b[K" : `\r${line}\x1b[K`);
    },
    stdin() {
      return Bun.stdin.stream();
    },
    outColor: createColors(wantsColor(Boolean(process.stdout.isTTY))),
    errColor: createColors(wantsColor(Boolean(process.stderr.isTTY))),
  };
}
