// The version and commit a release binary embeds: package.json's version and the git commit built.
import pkg from "../package.json" with { type: "json" };

export interface BuildInfo {
  version: string;
  commit: string;
}

/**
 * buildInfo reads the commit from git (UPCAT_COMMIT overrides it); "-dirty" marks uncommitted sources.
 * UPCAT_VERSION overrides package.json's version: the upgrade tests build one tree at two versions.
 */
export async function buildInfo(root: string): Promise<BuildInfo> {
  const version = process.env.UPCAT_VERSION || pkg.version;
  const override = process.env.UPCAT_COMMIT;
  if (override) return { version, commit: override };
  const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root });
  if (head.exitCode !== 0) return { version, commit: "unknown" };
  // Only what goes into the binary counts: others' edits to tests or docs do not make it dirty.
  const status = Bun.spawnSync(["git", "status", "--porcelain", "--", "src", "package.json", "package-lock.json"], {
    cwd: root,
  });
  const dirty = status.stdout.toString().trim() !== "";
  return { version, commit: head.stdout.toString().trim() + (dirty ? "-dirty" : "") };
}
