// Builds every release target once per test run into the run's scratch folder, shared by the tests that need foreign binaries.
import { join } from "node:path";
import { SCRATCH } from "./scratch.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
/** RELEASE_DIR is new on every run, so a stale binary from an older run is never what is tested. */
export const RELEASE_DIR = join(SCRATCH, "release");

let built: Promise<string> | undefined;

/** releaseDir runs `bun scripts/build.ts` for all targets (once per run) and returns the directory. */
export function releaseDir(): Promise<string> {
  built ??= (async () => {
    const proc = Bun.spawn([process.execPath, join(ROOT, "scripts/build.ts"), "--outdir", RELEASE_DIR], {
      stdout: "pipe",
      stderr: "pipe",
      cwd: ROOT,
      // The commit comes from git, as in a release; an UPCAT_COMMIT left in the environment would hide it.
      env: { ...process.env, UPCAT_COMMIT: "" },
    });
    const [status, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    if (status !== 0) throw new Error(`scripts/build.ts failed (${status}): ${stdout}${stderr}`);
    return RELEASE_DIR;
  })();
  return built;
}
