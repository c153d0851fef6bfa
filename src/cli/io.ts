// Where the cli writes: data to stdout, diagnostics to stderr, colour only on a terminal without NO_COLOR.
import type { createColors } from "picocolors";
import { pipeWriters, type Sink } from "./pipe-writer.ts";

type Colors = ReturnType<typeof createColors>;

/**
 * colors loads picocolors only when colour is on: at import it reads process.stdout.isTTY, which makes
 * Bun build the process.stdout stream, several milliseconds of every start-up. Off, every colour is
 * the text as it is, which is all createColors(false) gives.
 */
function colors(enabled: boolean): Colors {
  if (!enabled) return PLAIN;
  return (require("picocolors") as { createColors: typeof createColors }).createColors(enabled);
}

const PLAIN = new Proxy({} as Colors, {
  get: (_, name) => (name === "isColorSupported" ? false : String),
});

/**
 * isatty asks Bun's tty binding: node:tty's isatty is the same call, but importing node:tty builds
 * node's stream modules, about 4 ms and 570 page faults of every start-up (Bun 1.4.5).
 */
const isatty: (fd: number) => boolean = (
  process as unknown as { binding(name: "tty_wrap"): { isTTY(fd: number): boolean } }
).binding("tty_wrap").isTTY;

/** LogBound bounds what a log on stderr may leave waiting for a slow reader (Io.unblockPipes). */
export interface LogBound {
  bytes: number;
  /** dropped is the line that says `n` lines were dropped. */
  dropped(n: number): string;
}

/** Io is the cli's view of the process's streams. */
export interface Io {
  readonly stdoutIsTTY: boolean;
  readonly stdinIsTTY: boolean;
  /** out queues data (replies, results) for stdout; flush waits until it is written. */
  out(data: string | Uint8Array): void;
  flush(): Promise<void>;
  /**
   * unblockPipes: from now on, a pipe on stdout or stderr whose reader is slow, or a terminal that takes nothing, no
   * longer holds up the process (on Linux; elsewhere writes wait for the reader as before). What the reader has not
   * taken waits in memory, so only output bounded in size may ask for it: check's lines, one a target, whose timers
   * must not fire late. A server, whose log has no end, gives `bound`: past `bytes` waiting for stderr's reader,
   * lines are dropped and counted, and `dropped(n)` is written once half of that has gone out. What it returns lifts
   * the bound (a server's last lines wait for the reader, however slow).
   */
  unblockPipes(bound?: LogBound): () => void;
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
 *
 * Writes go through Bun.write, chained so they keep their order, and terminals are asked with isatty:
 * making process.stdout, process.stdin and process.stderr costs more start-up than all of upcat's own
 * code (about 8 of 11 ms of `upcat --version`). Not Bun.stdout.writer() either: written to from a
 * socket's data handler, it closes itself on EPIPE and takes every later write silently (Bun 1.4.5), and it sets
 * O_NONBLOCK on a pipe every process sharing it sees. Bun.write to a pipe blocks the process while the pipe is full,
 * which is backpressure for send and serve; check asks for unblockPipes (pipe-writer.ts) instead.
 */
export function processIo(readerGone: () => void): Io {
  // Data queued while a write is out goes in the next write, joined: a reply a datagram is not a syscall a reply.
  let queued: (string | Uint8Array)[] = [];
  let writing: Promise<void> | undefined;
  let toStderr: Promise<unknown> = Promise.resolve();
  let broken: unknown;
  let outSink: Sink | Promise<Sink> = (data) => Bun.write(Bun.stdout, data);
  let errSink: Sink | Promise<Sink> = (data) => Bun.write(Bun.stderr, data);
  const failed = (err: unknown) => {
    if ((err as { code?: unknown } | null)?.code === "EPIPE") readerGone();
    broken ??= err;
  };
  const drainStdout = async () => {
    while (queued.length > 0 && broken === undefined) {
      const batch = queued;
      queued = [];
      await (await outSink)(batch.length === 1 ? batch[0]! : joined(batch)).catch(failed);
    }
    queued = [];
    writing = undefined;
  };
  const stdoutIsTTY = isatty(1);
  let outColor: Colors | undefined;
  let errColor: Colors | undefined;
  const stderrIsTTY = isatty(2);
  // What waits for stderr's reader, in UTF-16 units (near enough to bytes for a bound), and what was dropped.
  let errWaiting = 0;
  let errBound: LogBound | undefined;
  let errDropped = 0;
  const toErr = (text: string) => {
    if (errBound && errWaiting + text.length > errBound.bytes) {
      errDropped++;
      return;
    }
    errWaiting += text.length;
    toStderr = toStderr
      .then(async () => (await errSink)(text))
      .catch(() => {})
      .then(() => {
        errWaiting -= text.length;
        if (errDropped > 0 && errBound && errWaiting <= errBound.bytes / 2) {
          const n = errDropped;
          errDropped = 0;
          toErr(`${errBound.dropped(n)}\n`);
        }
      });
  };
  return {
    stdoutIsTTY,
    stdinIsTTY: isatty(0),
    out(data) {
      queued.push(data);
      // From the next turn of the event loop: what this turn's callbacks (every datagram of a wake-up) queue goes
      // out in one write.
      writing ??= new Promise((resolve) => setImmediate(resolve)).then(drainStdout);
    },
    unblockPipes(bound) {
      errBound = bound;
      const writers = pipeWriters({ out: stdoutIsTTY, err: stderrIsTTY });
      const [blockingOut, blockingErr] = [outSink, errSink];
      outSink = writers.then((w) => w.out ?? blockingOut);
      errSink = writers.then((w) => w.err ?? blockingErr);
      return () => {
        const n = errDropped;
        [errBound, errDropped] = [undefined, 0];
        if (n > 0 && bound) toErr(`${bound.dropped(n)}\n`);
      };
    },
    async flush() {
      await Promise.all([writing, toStderr]);
      if (broken) throw broken;
    },
    err(line) {
      toErr(`${line}\n`);
    },
    prompt(text) {
      toErr(text);
    },
    statusLive: stderrIsTTY,
    status(line) {
      if (stderrIsTTY) toErr(line === undefined ? "\r\x1b[K" : `\r${line}\x1b[K`);
    },
    stdin() {
      return Bun.stdin.stream();
    },
    get outColor() {
      outColor ??= colors(wantsColor(stdoutIsTTY));
      return outColor;
    },
    get errColor() {
      errColor ??= colors(wantsColor(stderrIsTTY));
      return errColor;
    },
  };
}

/** joined is the chunks as one buffer, strings as UTF-8. */
function joined(chunks: readonly (string | Uint8Array)[]): Uint8Array {
  return Buffer.concat(chunks.map((c) => (typeof c === "string" ? Buffer.from(c) : c)));
}
