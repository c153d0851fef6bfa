// A program a test starts and waits for: its stderr read as it comes, up to the line it says once it is ready, then on
// in the background, so that what it says later can be read and its pipe never fills.
import type { Subprocess } from "bun";

/** Said is a started program and what it has said on stderr. */
export interface Said {
  proc: Subprocess<"ignore", "ignore", "pipe">;
  /** head is what it said up to the end of the line where `until` matched (all of it if it never did). */
  head: string;
  /** said is what it has said after head so far. */
  said(): string;
  /** rest waits for its stderr to close and resolves with all it said after head. */
  rest(): Promise<string>;
}

export interface SpawnUntilOptions {
  env: Record<string, string>;
  cwd?: string;
  /** until is what ends head; the first line by default. */
  until?: RegExp;
  /** timeoutMs kills it if head has not come by then. */
  timeoutMs?: number;
}

/** spawnUntil runs argv and resolves once what it says on stderr matches `until`, or its stderr has closed. */
export async function spawnUntil(argv: string[], opts: SpawnUntilOptions): Promise<Said> {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe", cwd: opts.cwd, env: opts.env });
  const until = opts.until ?? /\n/;
  const reader = proc.stderr.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let match: RegExpExecArray | null = null;
  const deadline = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 15_000);
  for (;;) {
    match = until.exec(text);
    if (match) break;
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  clearTimeout(deadline);
  const lineEnd = match ? text.indexOf("\n", match.index + match[0].length - 1) : -1;
  const cut = lineEnd < 0 ? text.length : lineEnd + 1;
  let after = text.slice(cut);
  const drained = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      after += decoder.decode(value, { stream: true });
    }
  })();
  return {
    proc,
    head: text.slice(0, cut),
    said: () => after,
    async rest() {
      await drained;
      return after;
    },
  };
}
