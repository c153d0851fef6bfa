// Builds release assets once per test run into the run's scratch folder: every target, or the host's binary at a chosen
// version.
import { join } from "node:path";
import { assetName } from "../../src/upgrade/target.ts";
import { SCRATCH } from "./scratch.ts";
import { build } from "./build.ts";

/** RELEASE_DIR is new on every run, so a stale binary from an older run is never what is tested. */
export const RELEASE_DIR = join(SCRATCH, "release");

let built: Promise<string> | undefined;

/** releaseDir runs `bun scripts/build.ts` for all targets (once per run) and returns the directory. */
export function releaseDir(): Promise<string> {
  built ??= (async () => {
    await build(["--outdir", RELEASE_DIR]);
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
      await build([...args, "--outdir", out], env);
      return out;
    })();
    versions.set(name, dir);
  }
  return dir;
}
