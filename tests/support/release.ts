// Builds release assets once per test run into the run's scratch folder: every target, or the host's binary at a chosen
// version.
import { join } from "node:path";
import { assetName } from "../../src/upgrade/target.ts";
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
    const [status, stdout, stderr] = await Promise.all([
      proc.exited,
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ]);
    if (status !== 0) throw new Error(`scripts/build.ts failed (${status}): ${stdout}${stderr}`);
    return RELEASE_DIR;
  })();
  return built;
}

const versions = new Map<string, Promise<string>>();

/**
 * hostRelease builds this machine's binary as release `version` (once per run) into its own folder, with SHA256SUMS and
 * VERSION.
 */
export function hostRelease(version: string): Promise<string> {
  return buildOnce(`release-${version}`, ["--target", "host"], { UPCAT_VERSION: version });
}

/**
 * targetRelease builds one target's binary (once per run) into its own folder: for a test that needs that binary alone.
 */
export async function targetRelease(target: string): Promise<string> {
  return join(await buildOnce(`target-${target}`, ["--target", target], {}), assetName(target));
}

function buildOnce(name: string, args: string[], env: Record<string, string>): Promise<string> {
  let dir = versions.get(name);
  if (!dir) {
    dir = (async () => {
      const out = join(SCRATCH, name);
      const proc = Bun.spawn([process.execPath, join(ROOT, "scripts/build.ts"), ...args, "--outdir", out], {
        stdout: "pipe",
        stderr: "pipe",
        cwd: ROOT,
        env: { ...process.env, UPCAT_COMMIT: "", ...env },
      });
      const [status, stdout, stderr] = await Promise.all([
        proc.exited,
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
      ]);
      if (status !== 0) throw new Error(`scripts/build.ts ${args.join(" ")} failed (${status}): ${stdout}${stderr}`);
      return out;
    })();
    versions.set(name, dir);
  }
  return dir;
}
