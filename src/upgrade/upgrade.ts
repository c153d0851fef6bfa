// `upcat upgrade` as a value: find the release, verify its asset for this target, and put it in place of this binary.
import { downloadTo, fetchText, type Progress } from "./download.ts";
import { UpgradeError } from "./errors.ts";
import { quote } from "../text/shown.ts";
import { cleanOnSignal, discard, installedPath, ownedBy, prepareFile, stage, swap } from "./install.ts";
import { releaseSource } from "./release.ts";
import { assetName } from "./target.ts";
import { tryBinary } from "./trial.ts";
import { compareVersions, parseVersion } from "./version.ts";

export interface UpgradeRequest {
  /** current is this binary's version; target its release target (undefined when run from source). */
  current: string;
  target: string | undefined;
  /** version is the release asked for; without it, the latest. */
  version?: string;
  /** check only compares; dryRun goes as far as finding the asset and says what it would replace. */
  check?: boolean;
  dryRun?: boolean;
  /**
   * timeoutMs bounds every wait on the outside: each of VERSION and SHA256SUMS whole, the binary's download while it
   * sends nothing, and the new binary's --version.
   */
  timeoutMs: number;
  env: Record<string, string | undefined>;
  execPath: string;
  progress?: Progress;
}

export type Outcome =
  | { kind: "current"; current: string; wanted: string }
  | { kind: "newer"; current: string; wanted: string }
  | { kind: "would"; current: string; wanted: string; url: string; path: string }
  | { kind: "replaced"; current: string; wanted: string; url: string; path: string; size: number };

/** wantedVersion reads the VERSION file of the release folder and checks it against the version asked for. */
async function wantedVersion(
  folder: string,
  mirror: boolean,
  asked: string | undefined,
  timeoutMs: number,
): Promise<string> {
  const url = `${folder}/VERSION`;
  const text = await fetchText(url, timeoutMs);
  if (text === undefined) {
    if (asked && !mirror) throw new UpgradeError(`there is no release ${asked} (${url}: not found)`);
    throw new UpgradeError(
      `${url}: not found (is this a release folder? it must hold VERSION, SHA256SUMS and the assets)`,
    );
  }
  const found = parseVersion(text.trim());
  if (!found) throw new UpgradeError(`${url} does not hold a version (it says ${quote(text.trim(), 40)})`);
  if (asked && found !== asked)
    throw new UpgradeError(
      `UPCAT_BASE_URL holds release ${found}, not ${asked}: point it at the ${asked} release's folder`,
    );
  return found;
}

/** expectedSum finds the asset's line in SHA256SUMS (the format sha256sum writes). */
async function expectedSum(folder: string, asset: string, timeoutMs: number): Promise<string> {
  const url = `${folder}/SHA256SUMS`;
  const text = await fetchText(url, timeoutMs);
  if (text === undefined)
    throw new UpgradeError(`${url}: not found, so ${asset} cannot be verified; nothing was replaced`);
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trimEnd());
    if (m && m[2] === asset) return m[1]!;
  }
  throw new UpgradeError(
    `${url} has no line for ${asset}: this release has no binary for this machine; nothing was replaced`,
  );
}

/**
 * upgrade runs the request and says what happened; it throws UpgradeError when a step fails, and then nothing was
 * replaced.
 */
export async function upgrade(r: UpgradeRequest): Promise<Outcome> {
  if (!r.target)
    throw new UpgradeError(
      "this upcat runs from source (bun src/main.ts): there is no binary to replace; update the checkout instead",
    );
  // A file a package manager owns is refused before anything goes over the network; --check only reads.
  const path = r.check ? "" : installedPath(r.execPath);
  const owner = r.check ? undefined : ownedBy(path);
  if (owner)
    throw new UpgradeError(`${path} belongs to ${owner}; upcat upgrade does not replace a file a package manager owns`);
  const source = releaseSource(r.env, r.version);
  const wanted = await wantedVersion(source.folder, source.mirror, r.version, r.timeoutMs);
  const order = compareVersions(wanted, r.current);
  if (r.check)
    return r.version
      ? { kind: order === 0 ? "current" : "newer", current: r.current, wanted }
      : { kind: order > 0 ? "newer" : "current", current: r.current, wanted };
  // Without a version asked for, an older latest (a build from a newer tree) is no reason to go back.
  if (order === 0 || (!r.version && order < 0)) return { kind: "current", current: r.current, wanted };

  const asset = assetName(r.target);
  const url = `${source.folder}/${asset}`;
  const sum = await expectedSum(source.folder, asset, r.timeoutMs);
  if (r.dryRun) return { kind: "would", current: r.current, wanted, url, path };

  const staged = await stage(path);
  const uncatch = cleanOnSignal(staged);
  try {
    const got = await downloadTo(url, staged.file, { stallMs: r.timeoutMs, progress: r.progress });
    if (got.sha256 !== sum)
      throw new UpgradeError(
        `checksum mismatch for ${asset}: SHA256SUMS says ${sum}, the download is ${got.sha256}; the download is ` +
          `corrupt or was tampered with; nothing was replaced`,
      );
    await prepareFile(staged);
    await tryBinary(staged.path, wanted, r.timeoutMs);
    await swap(staged.path, path);
    return { kind: "replaced", current: r.current, wanted, url, path, size: got.size };
  } catch (err) {
    await discard(staged);
    throw err;
  } finally {
    uncatch();
  }
}
