// `upcat upgrade [VERSION]`: replace this binary with a release's, verified against SHA256SUMS, or just say whether one
// is newer.
import type { CAC } from "cac";
import { UsageError } from "../errors.ts";
import { UpgradeError } from "../upgrade/errors.ts";
import { BUILD_TARGET } from "../upgrade/target.ts";
import { upgrade, type Outcome } from "../upgrade/upgrade.ts";
import { parseVersion } from "../upgrade/version.ts";
import { VERSION } from "../version.ts";
import type { Io } from "./io.ts";
import { parseDuration } from "./option-values.ts";

/**
 * TIMEOUT_DEFAULT bounds each wait on the outside: VERSION and SHA256SUMS each whole, the binary's download while it
 * sends nothing, the new binary's --version. The sizes read are bounded in src/upgrade/bounds.ts.
 */
const TIMEOUT_DEFAULT = "30s";

/**
 * NEWER_STATUS is `--check`'s exit status when a newer release exists, as `dnf check-update` says "updates available":
 * apart from 0 (up to date) and 1 (the check failed), so cron tells "0.2.0 is out" from "connection refused".
 */
export const NEWER_STATUS = 100;

function describe(o: Outcome): { line: string; status: number } {
  switch (o.kind) {
    case "current":
      return { line: `upcat ${o.current} is up to date (release ${o.wanted})`, status: 0 };
    case "newer":
      return { line: `upcat ${o.wanted} is available (this is ${o.current}): run upcat upgrade`, status: NEWER_STATUS };
    case "would":
      return {
        line:
          `would download ${o.url}, verify it against SHA256SUMS, run its --version and replace ${o.path} ` +
          `(${o.current} -> ${o.wanted})`,
        status: 0,
      };
    case "replaced":
      return { line: `upgraded ${o.path}: ${o.current} -> ${o.wanted}`, status: 0 };
  }
}

/** meter draws download progress on stderr, only on a terminal: a log file wants no carriage returns. */
function meter(io: Io): ((received: number, total: number | undefined) => void) | undefined {
  if (!io.statusLive) return undefined;
  let last = 0;
  return (received, total) => {
    const now = performance.now();
    if (now - last < 100 && received !== total) return;
    last = now;
    const mb = (n: number) => (n / 1e6).toFixed(1);
    io.prompt(`\r${mb(received)}${total ? ` / ${mb(total)}` : ""} MB${received === total ? "\n" : ""}`);
  };
}

async function run(word: unknown, raw: Record<string, unknown>, io: Io): Promise<number> {
  if (word !== undefined && raw.version !== undefined)
    throw new UsageError("give the release once: as VERSION or as --version");
  const version = word ?? raw.version;
  let asked: string | undefined;
  if (version !== undefined) {
    asked = parseVersion(String(version));
    if (!asked)
      throw new UsageError(`invalid VERSION: "${String(version)}" (expected a release such as 0.3.0 or v0.3.0)`);
  }
  if (raw.check && raw.dryRun) throw new UsageError("--check and --dry-run cannot be used together");
  const timeoutMs = parseDuration(raw.timeout ?? TIMEOUT_DEFAULT, "--timeout");
  try {
    const outcome = await upgrade({
      current: VERSION,
      target: BUILD_TARGET,
      version: asked,
      check: Boolean(raw.check),
      dryRun: Boolean(raw.dryRun),
      timeoutMs,
      env: process.env,
      execPath: process.execPath,
      progress: meter(io),
    });
    const { line, status } = describe(outcome);
    io.out(`${line}\n`);
    await io.flush();
    return status;
  } catch (err) {
    if (!(err instanceof UpgradeError)) throw err;
    io.err(`${io.errColor.red("upcat:")} upgrade: ${err.message}`);
    return 1;
  }
}

export function registerUpgrade(cli: CAC, io: Io): void {
  cli
    .command(
      "upgrade [version]",
      "Replace this binary with the latest release (or VERSION), verified against SHA256SUMS",
    )
    .option("--version <version>", "The release to install, newer or older: the same as VERSION")
    .option(
      "--check",
      `Only say whether a newer release exists: exit 0 up to date, ${NEWER_STATUS} newer, 1 the check failed`,
    )
    .option("--dry-run", "Say what would be downloaded and replaced, and change nothing")
    .option(
      "--timeout <duration>",
      `Give up on a request not whole, a download sending nothing, or the new binary's --version after this ` +
        `long (default ${TIMEOUT_DEFAULT})`,
    )
    .example(
      `  upcat upgrade --check; [ $? = ${NEWER_STATUS} ] && upcat upgrade   # in cron: upgrade when a release is out`,
    )
    .example("  upcat upgrade --version 0.3.0               # that release, newer or older (or: upcat upgrade 0.3.0)")
    .example("  UPCAT_BASE_URL=https://mirror.example/upcat upcat upgrade")
    .action((version: unknown, options: Record<string, unknown>) => run(version, options, io));
}
