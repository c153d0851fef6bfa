// A byte stream through one TCP connection, as `nc -N` does: piped stdin goes out as it comes, the
// reply is handed over as it arrives, and the server's close ends it. Nothing waits for a reply to a
// line before the next line goes: the kernel and the server pipeline it.
import { dialEach } from "./dial-each.ts";
import { dialStream } from "./stream-conn.ts";
import type { Target } from "./target.ts";

export interface StreamRequestOptions {
  /** timeoutMs bounds the connect, and the silence once the input has ended (not before: stdin may pause). */
  timeoutMs: number;
  onData(chunk: Uint8Array): void;
}

/** StreamRequestResult sums up a streamed exchange. */
export interface StreamRequestResult {
  readonly sent: number;
  readonly received: number;
  readonly address: string;
}

/** streamRequest connects, writes every chunk of `input` (waiting while the kernel is full), half-closes at its end, and reads to the server's close. */
export function streamRequest(target: Target, input: AsyncIterable<Uint8Array>, opts: StreamRequestOptions): Promise<StreamRequestResult> {
  return dialEach(target.host, "tcp", async (address) => {
    const conn = await dialStream(address, target.port, { timeoutMs: opts.timeoutMs });
    let received = 0;
    const reading = (async () => {
      for (let chunk = await conn.read(); chunk !== null; chunk = await conn.read()) {
        received += chunk.length;
        opts.onData(chunk);
      }
    })();
    // A failed read (a reset) ends the writing too, below; keep it from going unheard meanwhile.
    reading.catch(() => {});
    let sent = 0;
    try {
      for await (const chunk of input) {
        await Promise.race([conn.write(chunk), reading]);
        sent += chunk.length;
      }
      conn.closeWrite();
      conn.setReadTimeout(opts.timeoutMs);
      await reading;
      return { sent, received, address };
    } catch (err) {
      conn.reset();
      throw err;
    }
  });
}
