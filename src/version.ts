// The version and commit `upcat --version` prints; release builds replace both with --define.
import pkg from "../package.json" with { type: "json" };

declare const UPCAT_VERSION: string | undefined;
declare const UPCAT_COMMIT: string | undefined;

export const VERSION: string = typeof UPCAT_VERSION === "string" ? UPCAT_VERSION : pkg.version;
export const COMMIT: string = typeof UPCAT_COMMIT === "string" ? UPCAT_COMMIT : "dev";
