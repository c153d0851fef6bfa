// Runs the CMD of `upcat check ... -- CMD`: with upcat's stdin, stdout and stderr, signals passed on, its exit status
// as upcat's.
import { errnoCode } from "../errors.ts";

/** FORWARDED are the signals a container runtime or a terminal sends upcat, meant for CMD (upcat may be PID 1). */
export const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * CommandFailed is a CMD that could not be started; status is what a shell exits with then (127 not found, 126 not
 * executable).
 */
export class CommandFailed extends Error {
  override name = "CommandFailed";
  constructor(
    readonly command: string,
    readonly status: 126 | 127,
    why: string,
  ) {
    super(`${command}: ${why}`);
  }
}

/** signalStatus is the exit status a shell reports for a process killed by a signal: 128 + its number. */
export function signalStatus(signal: string): number {
  // node:os is loaded here, not at start-up, which every check would pay for this rare answer.
  const { signals } = (require("node:os") as typeof import("node:os")).constants;
  return 128 + (signals[signal as keyof typeof signals] ?? 0);
}

/**
 * untilSignal resolves with the name of the first of SIGINT, SIGTERM or SIGHUP to arrive, until disposed; caught
 * names it at once, for a caller about to hand signals on to CMD. While checks wait before a CMD, a signal must still
 * stop upcat: as PID 1 a signal with no handler is ignored, and `docker stop` would hang until its SIGKILL.
 */
export function untilSignal(): { signal: Promise<string>; caught(): string | undefined; dispose(): void } {
  let removers: (() => void)[] = [];
  let first: string | undefined;
  const signal = new Promise<string>((resolve) => {
    removers = FORWARDED.map((name) => {
      const got = () => {
        first ??= name;
        resolve(name);
      };
      try {
        process.on(name, got);
      } catch {
        return () => {};
      }
      return () => process.off(name, got);
    });
  });
  return { signal, caught: () => first, dispose: () => removers.forEach((remove) => remove()) };
}

/**
 * runCommand starts argv, passes SIGINT, SIGTERM and SIGHUP on to it while it runs (SIGINT not when
 * `terminal`: the terminal's own reaches it), waits for it, and returns its exit status (128 + N when
 * signal N killed it). It throws CommandFailed when argv[0] cannot be started.
 */
export async function runCommand(argv: readonly string[], opts: { terminal?: boolean } = {}): Promise<number> {
  let child: ReturnType<typeof Bun.spawn> | undefined;
  // Installed before the spawn: CMD may be running (and be signalled by whoever waits for it to start) before this
  // process is given the core back after the spawn, and a signal then must reach CMD, not end upcat. A handler runs
  // at a turn of the event loop, after the spawn has returned, so `child` is set by then.
  // On a terminal, Ctrl-C already reaches CMD: it is in upcat's process group, which the terminal
  // signals whole. Passing SIGINT on too would make it two, which many programs read as "force quit".
  // upcat still catches it, to outlive CMD and exit with its status.
  const handlers = FORWARDED.map((signal) => {
    const pass = opts.terminal && signal === "SIGINT" ? () => {} : () => child?.kill(signal);
    try {
      process.on(signal, pass);
    } catch {
      // A platform without this signal (SIGHUP on Windows) cannot send it either.
      return () => {};
    }
    return () => process.off(signal, pass);
  });
  try {
    child = Bun.spawn([...argv], { stdio: ["inherit", "inherit", "inherit"] });
  } catch (err) {
    for (const remove of handlers) remove();
    const code = errnoCode(err);
    if (code === "EACCES") throw new CommandFailed(argv[0]!, 126, "permission denied (not an executable file)");
    if (code === "ENOEXEC")
      throw new CommandFailed(argv[0]!, 126, "cannot execute (not a program nor a script with #!)");
    if (code === "ENOENT")
      throw new CommandFailed(argv[0]!, 127, argv[0]!.includes("/") ? "no such file" : "command not found");
    throw new CommandFailed(argv[0]!, 126, err instanceof Error ? err.message : String(err));
  }
  try {
    const status = await child.exited;
    return child.signalCode ? signalStatus(String(child.signalCode)) : status;
  } finally {
    for (const remove of handlers) remove();
  }
}
