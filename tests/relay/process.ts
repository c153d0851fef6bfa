// Runs `upcat relay` as a process (from source or the compiled binary), waits for its ready line, and reads the rest of
// what it says.
import type { Subprocess } from "bun";
import { type Command, fromSource, startServer } from "../support/run.ts";
import { spawnUntil } from "../support/stderr-until.ts";
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
  const { proc, head, said, rest } = await spawnUntil([...cmd.argv, "relay", ...args], {
    env: { ...cmd.env, NO_COLOR: "1" },
    timeoutMs,
  });
  const ready = head.split("\n")[0]!;
  const match = /relaying (?:tcp|udp) \S*:(\d+) to /.exec(ready) ?? /"event":"listening".*"port":(\d+)/.exec(ready);
  if (!match) {
    proc.kill("SIGKILL");
    throw new Error(`relay did not start: ${head.trim() || `exit ${await proc.exited}`}`);
  }
  return {
    proc,
    ready,
    port: Number(match[1]),
    said,
    async stop() {
      const status = await terminate(proc, 10_000);
      return { status, rest: await rest() };
    },
  };
}

/**
 * throughRelay runs `body` with an `upcat relay ARGS` (from source) in front of an `upcat serve --udp`, stops both, and
 * returns what the relay said after its ready line.
 */
export async function throughRelay(args: string[], body: (relay: RelayProcess) => Promise<void>): Promise<string> {
  const server = await startServer(fromSource, ["--udp", "--port", "0", "--host", "127.0.0.1"]);
  try {
    const relay = await startRelayProcess(fromSource, ["udp://127.0.0.1:0", `udp://127.0.0.1:${server.port}`, ...args]);
    let said = "";
    try {
      await body(relay);
    } finally {
      said = (await relay.stop()).rest;
    }
    return said;
  } finally {
    await server.stop();
  }
}
