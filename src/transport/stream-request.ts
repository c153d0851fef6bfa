// A byte stream through one TCP connection, as `nc -N` does: piped stdin goes out as it comes, the
// reply is handed over as it arrives, and the server's close ends it. Nothing waits for a reply to a
// line before the next line goes: the kernel and the server pipeline it.
import { NetError } from "../errors.ts";
import { hostPort } from "./address.ts";
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

/**
 * streamRequest connects, writes every chunk of `input` (waiting while the kernel is full), half-closes at its end, and
 * reads to the server's close.
 */
export function streamRequest(
  target: Target,
  input: AsyncIterable<Uint8Array>,
  opts: StreamRequestOptions,
): Promise<StreamRequestResult> {
  return dialEach(target.host, "tcp", async (address) => {
    const conn = await dialStream(address, target.port, { timeoutMs: opts.timeoutMs });
    const where = hostPort(address, target.port);
    let received = 0;
    let readDone = false;
    const reading = (async () => {
      for (let chunk = await conn.read(); chunk !== null; chunk = await conn.read()) {
        received += chunk.length;
        opts.onData(chunk);
      }
      readDone = true;
    })();
    // A server that closes before it has taken the whole request has not answered it.
    const closedEarly = () =>
      new NetError({
        op: "write",
        transport: "tcp",
        address: where,
        reason: "connection closed by peer before the request was sent",
        code: "EPIPE",
      });
    const serverGone = reading.then(() => {
      throw closedEarly();
    });
    // A failed read (a reset) ends the writing too, below; keep it from going unheard meanwhile.
    serverGone.catch(() => {});
    let sent = 0;
    try {
      for await (const chunk of input) {
        // A write the kernel takes nothing of for --timeout is a peer that stopped reading; stdin's own pauses are not.
        const writing = conn.write(chunk, opts.timeoutMs);
        writing.catch(() => {});
        await Promise.race([writing, serverGone]);
        sent += chunk.length;
      }
      if (readDone && conn.pendingBytes > 0) throw closedEarly();
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
