// Runs scripts/build.ts as a release is built, for the tests that need its binaries.
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;

/** build runs `bun scripts/build.ts ARGS` (with `env` added) and throws with its output when it fails. */
export async function build(args: string[], env: Record<string, string> = {}): Promise<void> {
  const proc = Bun.spawn([process.execPath, join(ROOT, "scripts/build.ts"), ...args], {
    stdout: "pipe",
    stderr: "pipe",
    cwd: ROOT,
    // The commit comes from git, as in a release; an UPCAT_COMMIT left in the environment would hide it.
    env: { ...process.env, UPCAT_COMMIT: "", ...env },
  });
  const [status, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  if (status !== 0) throw new Error(`scripts/build.ts ${args.join(" ")} failed (${status}): ${stdout}${stderr}`);
}
