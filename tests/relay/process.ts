// Runs `upcat relay` as a process (from source or the compiled binary), waits for its ready line, and reads the rest of
// what it says.
import type { Subprocess } from "bun";
import type { Command } from "../support/run.ts";
import { terminate } from "../support/wait.ts";

/** RelayProcess is a running `upcat relay`. */
export interface RelayProcess {
  proc: Subprocess<"ignore", "ignore", "pipe">;
  ready: string;
  port: number;
  /** said is what it has printed after the ready line so far. */
  said(): string;
  /** stop sends SIGTERM and resolves with the exit status and everything printed after the ready line. */
  stop(): Promise<{ status: number; rest: string }>;
}

/** startRelayProcess runs `upcat relay ARGS` and resolves once its ready line (text or JSON) is out. */
export async function startRelayProcess(cmd: Command, args: string[], timeoutMs = 15_000): Promise<RelayProcess> {
  const proc = Bun.spawn([...cmd.argv, "relay", ...args], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    env: { ...cmd.env, NO_COLOR: "1" },
  });
  const reader = proc.stderr.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  clearTimeout(deadline);
  const ready = text.split("\n")[0]!;
  const match = /relaying (?:tcp|udp) \S*:(\d+) to /.exec(ready) ?? /"event":"listening".*"port":(\d+)/.exec(ready);
  if (!match) {
    proc.kill("SIGKILL");
    throw new Error(`relay did not start: ${text.trim() || `exit ${await proc.exited}`}`);
  }
  let rest = text.slice(ready.length + 1);
  const restDone = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      rest += decoder.decode(value);
    }
  })();
  return {
    proc,
    ready,
    port: Number(match[1]),
    said: () => rest,
    async stop() {
      const status = await terminate(proc, 10_000);
      await restDone;
      return { status, rest };
    },
  };
}
