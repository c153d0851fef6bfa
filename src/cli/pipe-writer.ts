// Writers for stdout and stderr that never hold up the event loop when they are a pipe whose reader is slow, or a
// terminal that takes output slowly (a slow ssh link) or not at all (Ctrl-S).
//
// Bun.write to a pipe is a blocking write(2): once the pipe is full, the whole process waits for its reader, and
// every timer that came due meanwhile fires late, before the sockets that became ready long before (a check then
// says "timeout" of a port that answered at once, and times its latency by the reader's pace). Setting O_NONBLOCK
// on fd 1 or 2 would set it for every process that shares the pipe (CMD, the shell's next command), which do not
// expect EAGAIN. Opening /proc/self/fd/N makes a description of the same pipe that is this process's own: Bun opens
// it non-blocking (and close-on-exec) and writes it from its event loop. A terminal Bun writes blocking whatever
// the flags (Bun 1.4.5), so there the writer is our own: write(2) on a non-blocking description, retried a little
// later while the terminal takes nothing (EAGAIN).

/**
 * TTY_RETRY_MS: how soon a terminal that took nothing is tried again: at once at first (a terminal that reads fast
 * drains in a moment), then less and less often, up to TTY_RETRY_MAX_MS (one stopped with Ctrl-S may stay so).
 */
const TTY_RETRY_MS = 1;
const TTY_RETRY_MAX_MS = 50;

/** Sink writes bytes in order; it resolves once they are all in the pipe, and rejects (EPIPE) when its reader went. */
export type Sink = (data: string | Uint8Array) => Promise<unknown>;

/**
 * pipeWriters are Sinks of their own onto stdout and stderr where each is a pipe or a terminal (`ttys` says which
 * fd is one: isatty), on Linux; undefined for one that is not (a file, a socket; another system; /proc not mounted),
 * where the caller keeps to Bun.write. Not a file: one opened again would be written from its start, over what is
 * there. Both on one pipe or terminal (2>&1) share one writer, so a line of one is never cut by a line of the other
 * while it is full.
 */
export async function pipeWriters(ttys: { out: boolean; err: boolean }): Promise<{ out?: Sink; err?: Sink }> {
  if (process.platform !== "linux") return {};
  const [out, err] = await Promise.all([ownable(1, ttys.out), ownable(2, ttys.err)]);
  const outSink = out && writerOn(1, out.tty);
  const errSink = err && (out && out.dev === err.dev && out.ino === err.ino ? outSink : writerOn(2, err.tty));
  return { out: outSink, err: errSink };
}

/** ownable is the device and inode of fd 1 or 2 where it is a pipe or a terminal (`tty`), undefined otherwise. */
async function ownable(fd: 1 | 2, tty: boolean): Promise<{ dev: number; ino: number; tty: boolean } | undefined> {
  try {
    const stat = await Bun.file(fd).stat();
    const own = stat.isFIFO() || (tty && stat.isCharacterDevice());
    return own ? { dev: Number(stat.dev), ino: Number(stat.ino), tty: !stat.isFIFO() } : undefined;
  } catch {
    return undefined;
  }
}

function writerOn(fd: 1 | 2, tty: boolean): Sink | undefined {
  if (tty) return ttyWriter(fd);
  try {
    const writer = Bun.file(`/proc/self/fd/${fd}`).writer();
    return async (data) => {
      // write gives a promise when the pipe is full, and it rejects (EPIPE) as flush does: both are awaited.
      await writer.write(data);
      await writer.flush();
    };
  } catch {
    return undefined;
  }
}

/** ttyWriter writes a terminal through a description of its own, non-blocking: what it cannot take waits a little. */
function ttyWriter(fd: 1 | 2): Sink | undefined {
  const fs = require("node:fs") as typeof import("node:fs");
  const { O_WRONLY, O_NONBLOCK, O_NOCTTY } = fs.constants;
  let own: number;
  try {
    // Bun opens close-on-exec: CMD does not inherit it.
    own = fs.openSync(`/proc/self/fd/${fd}`, O_WRONLY | O_NONBLOCK | O_NOCTTY);
  } catch {
    return undefined;
  }
  return async (data) => {
    let left = typeof data === "string" ? Buffer.from(data) : data;
    let wait = TTY_RETRY_MS;
    while (left.length > 0) {
      try {
        left = left.subarray(fs.writeSync(own, left));
        wait = TTY_RETRY_MS;
      } catch (err) {
        if ((err as { code?: unknown }).code !== "EAGAIN") throw err;
        await Bun.sleep(wait);
        wait = Math.min(2 * wait, TTY_RETRY_MAX_MS);
      }
    }
  };
}
