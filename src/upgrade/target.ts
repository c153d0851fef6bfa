// The release target this binary was built for (scripts/build.ts defines it), and the asset that holds it.
declare const UPCAT_TARGET: string | undefined;

/** BUILD_TARGET names this binary's own release target (`linux-x64-musl-baseline`); undefined when run from source. */
export const BUILD_TARGET: string | undefined = typeof UPCAT_TARGET === "string" ? UPCAT_TARGET : undefined;

/** assetName is the release file of a target: upcat-<target>, with .exe on Windows. */
export function assetName(target: string): string {
  return `upcat-${target}${target.startsWith("windows-") ? ".exe" : ""}`;
}
