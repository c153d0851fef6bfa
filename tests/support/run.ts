// Runs upcat as a user would, from source or as the compiled binary, and collects what it printed.
import type { Subprocess } from "bun";
import { spawnUntil } from "./stderr-until.ts";

export interface Ran {
  status: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
}

export interface RunOptions {
  stdin?: string | Uint8Array;
  env?: Record<string, string>;
  cwd?: string;
  /** timeoutMs kills the process if it has not exited by then; the test then fails on its status. */
  timeoutMs?: number;
}

/** Command is how to start upcat: the argv prefix and the environment it needs. */
export interface Command {
  argv: string[];
  env: Record<string, string>;
}

const ROOT = new URL("../..", import.meta.url).pathname;

/**
 * engineEnv carries UPCAT_UDP_ENGINE from the test run to every upcat it starts, so `UPCAT_UDP_ENGINE=batch npm test`
 * runs the whole suite's UDP servers on the batch engine (issue 30); unset, each upcat picks its default.
 */
export const engineEnv: Record<string, string> =
  process.env.UPCAT_UDP_ENGINE === undefined ? {} : { UPCAT_UDP_ENGINE: process.env.UPCAT_UDP_ENGINE };

/** fromSource runs src/main.ts with the Bun that runs the tests. */
export const fromSource: Command = {
  argv: [process.execPath, `${ROOT}src/main.ts`],
  env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...engineEnv },
};

/** run starts upcat with args and waits for it to exit. */
export async function run(cmd: Command, args: string[], opts: RunOptions = {}): Promise<Ran> {
  const proc = Bun.spawn([...cmd.argv, ...args], {
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    cwd: opts.cwd,
    env: { ...cmd.env, NO_COLOR: "1", ...opts.env },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 15_000);
  const [stdoutBytes, stderr, status] = await Promise.all([
    new Response(proc.stdout).bytes(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { status, stdout: new TextDecoder().decode(stdoutBytes), stderr, stdoutBytes };
}

/** Server is an upcat server process started by a test. */
export interface Server {
  proc: Subprocess<"ignore", "ignore", "pipe">;
  /** ready is the line the server printed once it listened. */
  ready: string;
  /** port is the port number from the ready line. */
  port: number;
  /** rest reads what the server prints on stderr after its ready line, up to its exit. */
  rest(): Promise<string>;
  /** said is what it has printed on stderr after the ready line so far. */
  said(): string;
  stop(): Promise<number>;
}

/** startServer runs `upcat serve ARGS` and resolves once its ready line is out. */
export async function startServer(cmd: Command, args: string[], opts: RunOptions = {}): Promise<Server> {
  const { proc, head, rest, said } = await spawnUntil([...cmd.argv, "serve", ...args], {
    env: { ...cmd.env, NO_COLOR: "1", ...opts.env },
    cwd: opts.cwd,
    timeoutMs: opts.timeoutMs,
  });
  const match = /serving .* on \S+ \S*:(\d+)/.exec(head);
  if (!match) {
    proc.kill("SIGKILL");
    throw new Error(`server did not start: ${head.trim() || `exit ${await proc.exited}`}`);
  }
  return {
    proc,
    ready: head.split("\n")[0]!,
    port: Number(match[1]),
    rest,
    said,
    async stop() {
      proc.kill("SIGTERM");
      return proc.exited;
    },
  };
}

/**
 * onTerminal runs upcat with a pseudo-terminal for stdin and stdout (script(1)), typing `input` and then
 * ^D (the end of script's own stdin); it returns the status and all the terminal showed.
 */
export async function onTerminal(
  cmd: Command,
  args: string[],
  input: string,
): Promise<{ status: number; screen: string }> {
  const line = [...cmd.argv, ...args].join(" ");
  const shell = `printf '%s' "$UPCAT_TYPED" | script -qec "${line}" /dev/null`;
  const proc = Bun.spawn(["sh", "-c", shell], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...cmd.env, PATH: `${cmd.env.PATH}:/usr/bin:/bin`, NO_COLOR: "1", UPCAT_TYPED: input },
  });
  const screen = await new Response(proc.stdout).text();
  return { status: await proc.exited, screen };
}
