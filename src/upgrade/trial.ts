// The new binary's trial run: its --version in a process group of its own, bounded in time and in output, and the
// whole group killed when it ends, so nothing it starts outlives upgrade or holds upgrade waiting.
import { quote } from "../text/shown.ts";
import { sizeName, TRIAL_GRACE_MS, TRIAL_OUTPUT_MAX } from "./bounds.ts";
import { UpgradeError } from "./errors.ts";

/** Ending is how the trial run stopped: exited with its output closed, or why it was cut off. */
type Ending = "exited" | "deadline" | "too-much" | "held";

/**
 * killGroup kills the trial's whole process group (its pid: `detached` makes it a session leader), so a child that
 * kept its stdout dies with it; a group already gone is no failure. Windows has no groups: the process alone.
 */
function killGroup(proc: { pid: number; kill(signal?: number | NodeJS.Signals): void }): void {
  try {
    if (process.platform === "win32") proc.kill("SIGKILL");
    else process.kill(-proc.pid, "SIGKILL");
  } catch {}
}

/** collect reads stream into parts until its end or past `max` bytes; it says which. */
async function collect(
  reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> },
  parts: Uint8Array[],
  max: number,
): Promise<"end" | "too-much"> {
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done || !value) return "end";
    parts.push(value);
    size += value.length;
    if (size > max) return "too-much";
  }
}

/** after resolves to `value` in ms, and can be cancelled so no timer keeps the process alive. */
function after<T>(ms: number, value: T): { promise: Promise<T>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(value), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * tryBinary runs the staged binary's --version and insists it names the expected version. It is killed with its
 * process group after timeoutMs, past TRIAL_OUTPUT_MAX of output, or when its output is still open TRIAL_GRACE_MS
 * after it exited (something it started holds the pipe); each of those is a failure.
 */
export async function tryBinary(path: string, version: string, timeoutMs: number): Promise<void> {
  let proc: Bun.Subprocess<"ignore", "pipe", "ignore">;
  try {
    proc = Bun.spawn([path, "--version"], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "ignore",
      detached: true,
      env: { ...process.env, NO_COLOR: "1" },
    });
  } catch (err) {
    throw new UpgradeError(
      `the downloaded binary does not start on this machine (${err instanceof Error ? err.message : String(err)}); ` +
        `nothing was replaced`,
      "trial",
    );
  }
  const parts: Uint8Array[] = [];
  const reader = proc.stdout.getReader();
  const reading = collect(reader, parts, TRIAL_OUTPUT_MAX).catch(() => "end" as const);
  const deadline = after(timeoutMs, "deadline" as const);
  let ending: Ending;
  try {
    const first = await Promise.race([
      proc.exited.then(() => "exited" as const),
      reading.then((r) => (r === "too-much" ? r : new Promise<never>(() => {}))),
      deadline.promise,
    ]);
    ending = first;
    if (first === "exited") {
      const grace = after(TRIAL_GRACE_MS, "held" as const);
      const closed = await Promise.race([reading, grace.promise]);
      grace.cancel();
      ending = closed === "end" ? "exited" : closed;
    }
  } finally {
    deadline.cancel();
    // Always: a child that closed its stdout and went on running is still in the group.
    killGroup(proc);
    await reader.cancel().catch(() => {});
  }
  const out = new TextDecoder().decode(Buffer.concat(parts)).slice(0, TRIAL_OUTPUT_MAX);
  if (ending === "deadline")
    throw new UpgradeError(
      `the downloaded binary's --version did not finish within ${+(timeoutMs / 1000).toFixed(3)}s (--timeout); ` +
        `it was killed; nothing was replaced`,
      "trial",
    );
  if (ending === "too-much")
    throw new UpgradeError(
      `the downloaded binary printed more than ${sizeName(TRIAL_OUTPUT_MAX)} for --version (${quote(out, 60)}); ` +
        `it was killed; nothing was replaced`,
      "trial",
    );
  if (ending === "held")
    throw new UpgradeError(
      `the downloaded binary's --version left a process holding its output (it printed ${quote(out.trim())}); ` +
        `it was killed; nothing was replaced`,
      "trial",
    );
  if (proc.exitCode !== 0 || !out.startsWith(`upcat ${version} (`)) {
    const ended = proc.signalCode ? `it was ended by ${proc.signalCode}` : `it exited with status ${proc.exitCode}`;
    const said = out.trim() ? `it printed ${quote(out.trim())}` : ended;
    throw new UpgradeError(
      `the downloaded binary did not pass its own --version (${said}, not upcat ${version}); nothing was replaced`,
      "trial",
    );
  }
}
