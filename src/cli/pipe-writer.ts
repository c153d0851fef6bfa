// Writers for stdout and stderr that never hold up the event loop when they are a pipe whose reader is slow.
//
// Bun.write to a pipe is a blocking write(2): once the pipe is full, the whole process waits for its reader, and
// every timer that came due meanwhile fires late, before the sockets that became ready long before (a check then
// says "timeout" of a port that answered at once, and times its latency by the reader's pace). Setting O_NONBLOCK
// on fd 1 or 2 would set it for every process that shares the pipe (CMD, the shell's next command), which do not
// expect EAGAIN. Opening /proc/self/fd/N makes a description of the same pipe that is this process's own: Bun opens
// it non-blocking (and close-on-exec) and writes it from its event loop.

/** Sink writes bytes in order; it resolves once they are all in the pipe, and rejects (EPIPE) when its reader went. */
export type Sink = (data: string | Uint8Array) => Promise<unknown>;

/**
 * pipeWriters are Sinks of their own onto stdout and stderr where each is a pipe, on Linux; undefined for one that is
 * not (a terminal, a file, a socket; another system; /proc not mounted), where the caller keeps to Bun.write. Only
 * a pipe: a file opened again would be written from its start, over what is there. Both on one pipe (2>&1) share
 * one writer, so a line of one is never cut by a line of the other while the pipe is full.
 */
export async function pipeWriters(): Promise<{ out?: Sink; err?: Sink }> {
  if (process.platform !== "linux") return {};
  const [out, err] = await Promise.all([fifo(1), fifo(2)]);
  const outSink = out && writerOn(1);
  const errSink = err && (out && out.dev === err.dev && out.ino === err.ino ? outSink : writerOn(2));
  return { out: outSink, err: errSink };
}

async function fifo(fd: 1 | 2): Promise<{ dev: number; ino: number } | undefined> {
  try {
    const stat = await Bun.file(fd).stat();
    return stat.isFIFO() ? { dev: Number(stat.dev), ino: Number(stat.ino) } : undefined;
  } catch {
    return undefined;
  }
}

function writerOn(fd: 1 | 2): Sink | undefined {
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
