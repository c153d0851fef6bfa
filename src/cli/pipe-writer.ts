// A writer for stdout or stderr that never holds up the event loop when they are a pipe whose reader is slow.
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
 * pipeWriter is a Sink of its own onto fd (1 or 2) when that is a pipe on Linux; undefined otherwise (a terminal, a
 * file, a socket; another system; /proc not mounted), where the caller keeps to Bun.write. Only a pipe: a file
 * opened again would be written from its start, over what is there.
 */
export async function pipeWriter(fd: 1 | 2): Promise<Sink | undefined> {
  if (process.platform !== "linux") return undefined;
  try {
    if (!(await Bun.file(fd).stat()).isFIFO()) return undefined;
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
