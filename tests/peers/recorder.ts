// Starts tests/peers/recorder.py and reads back, one by one, the exact bytes that reached it.
import type { Subprocess } from "bun";
import { requireTool } from "../support/peers.ts";

/** Arrival is what one TCP connection (up to its half-close) or one datagram delivered. */
export interface Arrival {
  readonly transport: "tcp" | "udp";
  readonly bytes: Uint8Array;
}

export interface Recorder {
  readonly port: number;
  /** next resolves with the next arrival, in the order they came; it fails after timeoutMs. */
  next(timeoutMs?: number): Promise<Arrival>;
  stop(): void;
}

const SCRIPT = new URL("./recorder.py", import.meta.url).pathname;

/** startRecorder starts the peer on 127.0.0.1 (TCP and UDP on one port); `banner` greets each TCP client. */
export async function startRecorder(banner?: Uint8Array): Promise<Recorder> {
  const argv = [requireTool("python3"), SCRIPT, ...(banner ? [Buffer.from(banner).toString("hex")] : [])];
  const proc: Subprocess<"pipe", "pipe", "inherit"> = Bun.spawn(argv, {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  // One read in flight at a time: a read that lost a race to the deadline still holds the next bytes.
  let pending: ReturnType<typeof reader.read> | undefined;
  const line = async (timeoutMs: number): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = text.indexOf("\n");
      if (nl >= 0) {
        const first = text.slice(0, nl);
        text = text.slice(nl + 1);
        return first;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the recorder got nothing within ${timeoutMs}ms`);
      pending ??= reader.read();
      const got = await Promise.race([pending, Bun.sleep(left).then(() => "late" as const)]);
      if (got === "late") continue;
      pending = undefined;
      if (got.done) throw new Error("the recorder exited");
      text += decoder.decode(got.value);
    }
  };
  const ready = /^listening (\d+)$/.exec(await line(10_000));
  if (!ready) throw new Error("the recorder did not start");
  return {
    port: Number(ready[1]),
    async next(timeoutMs = 5000) {
      const [transport, hex = ""] = (await line(timeoutMs)).split(" ");
      return { transport: transport as "tcp" | "udp", bytes: new Uint8Array(Buffer.from(hex, "hex")) };
    },
    stop() {
      proc.kill("SIGKILL");
    },
  };
}
