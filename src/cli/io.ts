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
  /** errColor colours text bound for stderr. */
  readonly errColor: Colors;
  readonly outColor: Colors;
}

function wantsColor(isTTY: boolean): boolean {
  return isTTY && !process.env.NO_COLOR;
}

/** processIo binds Io to this process's streams. */
export function processIo(): Io {
  const stdout = Bun.stdout.writer();
  return {
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stdinIsTTY: Boolean(process.stdin.isTTY),
    out(data) {
      stdout.write(data);
    },
    async flush() {
      await stdout.flush();
    },
    err(line) {
      process.stderr.write(`${line}\n`);
    },
    prompt(text) {
      process.stderr.write(text);
    },
    outColor: createColors(wantsColor(Boolean(process.stdout.isTTY))),
    errColor: createColors(wantsColor(Boolean(process.stderr.isTTY))),
  };
}
