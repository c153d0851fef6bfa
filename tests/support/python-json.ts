// A Python peer that takes JSON on stdin and prints JSON last: the UDP clients the engine's tests compare with.
import { expect } from "bun:test";

/**
 * pythonJson runs python3 with `args`, `input` as JSON on its stdin, and resolves with the JSON of its last line. At a
 * line "sent" it awaits `onSent` before reading on (the datagrams are out, the replies not yet read). Killed after
 * 20 s; it must exit 0.
 */
export async function pythonJson<T>(args: string[], input: unknown, onSent?: () => Promise<void>): Promise<T> {
  const proc = Bun.spawn(["python3", ...args], {
    stdin: new Blob([JSON.stringify(input)]),
    stdout: "pipe",
    stderr: "inherit",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  let out = "";
  const decoder = new TextDecoder();
  for await (const chunk of proc.stdout) {
    const before = out;
    out += decoder.decode(chunk, { stream: true });
    if (onSent && !before.split("\n").includes("sent") && out.split("\n").includes("sent")) await onSent();
  }
  clearTimeout(timer);
  expect(await proc.exited).toBe(0);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}
