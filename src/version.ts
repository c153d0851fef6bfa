// The version and commit `upcat --version` prints; scripts/build.ts defines both at build time (package.json and git).
import pkg from "../package.json" with { type: "json" };

declare const UPCAT_VERSION: string | undefined;
declare const UPCAT_COMMIT: string | undefined;

export const VERSION: string = typeof UPCAT_VERSION === "string" ? UPCAT_VERSION : pkg.version;
// Run from source (bun src/main.ts) there is no build, so no commit: "dev" says so.
export const COMMIT: string = typeof UPCAT_COMMIT === "string" ? UPCAT_COMMIT : "dev";
