// Tests wait for a condition, not for a fixed time: poll until it holds, or race a deadline, and fail naming what.
import type { Subprocess } from "bun";
import { readdirSync, readFileSync } from "node:fs";

/** waitFor(what, condition, timeoutMs = 5000) polls condition every 5 ms until true, or throws naming what. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (performance.now() > deadline) throw new Error(`waited ${timeoutMs}ms for ${what}`);
    await Bun.sleep(5);
  }
}

/** within(what, promise, timeoutMs = 5000) settles as promise does, or rejects naming what after timeoutMs. */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`waited ${timeoutMs}ms for ${what}`)), timeoutMs)),
  );
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * terminate asks a process to stop (SIGTERM), kills it if it has not exited after graceMs, and resolves with its exit
 * status: a test's clean-up never waits on a process that ignores the signal.
 */
export async function terminate(proc: Pick<Subprocess, "kill" | "exited">, graceMs: number): Promise<number> {
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** established counts the TCP connections to a local port that the kernel has in ESTABLISHED state (ss, iproute2). */
export function established(port: number): number {
  const ss = Bun.spawnSync(["ss", "-Htn", "state", "established", `( sport = :${port} )`]);
  return ss.stdout
    .toString()
    .split("\n")
    .filter((line) => line.trim() !== "").length;
}

/** listening says whether anything listens on a local TCP port (ss, iproute2). */
export function listening(port: number): boolean {
  const ss = Bun.spawnSync(["ss", "-Hltn", `( sport = :${port} )`]);
  return ss.stdout.toString().trim() !== "";
}

/** childrenOf lists the pids of a process's children (every thread's, from /proc); none for a process gone. */
export function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** alive: the process runs (a zombie, ended but not yet reaped, does not). */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
