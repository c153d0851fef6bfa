// Puts a verified binary in place of this one: a temporary file beside it, tried (trial.ts), then renamed over it.
import { existsSync, realpathSync, rmSync } from "node:fs";
import { chmod, open, rename, rm, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { UpgradeError } from "./errors.ts";

/** DPKG_QUERY answers which Debian package installed a file, without reading dpkg's private database. */
const DPKG_QUERY = "/usr/bin/dpkg-query";

/**
 * ownedBy says which package installed path, and how to upgrade it, if one did: upgrade must not replace a file a
 * package manager owns.
 */
export function ownedBy(path: string, query = DPKG_QUERY): string | undefined {
  if (!existsSync(query)) return undefined;
  const r = Bun.spawnSync([query, "--search", "--", path], { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
  if (r.exitCode !== 0) return undefined;
  // "upcat: /usr/bin/upcat"; a diverted file's line starts "diversion by", which is not an owner.
  const line = r.stdout
    .toString()
    .split("\n")
    .find((l) => l.endsWith(`: ${path}`) && !l.startsWith("diversion "));
  const name = line?.slice(0, line.indexOf(":"));
  return name
    ? `the Debian package ${name}: upgrade it with apt (apt install --only-upgrade ${name}) or dpkg -i`
    : undefined;
}

/**
 * installedPath is the file to replace: the real file behind this executable, so a symlink on PATH keeps pointing at
 * it.
 */
export function installedPath(execPath = process.execPath): string {
  try {
    return realpathSync(execPath);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UpgradeError(
      `cannot find the file of this binary, ${execPath} (${code ?? String(err)}): reinstall with install.sh`,
    );
  }
}

/** Staged is a new binary written beside the installed one, not yet in its place. */
export interface Staged {
  path: string;
  file: FileHandle;
}

/**
 * stage creates the temporary file beside target before anything is downloaded, so an unwritable folder fails first.
 */
export async function stage(target: string): Promise<Staged> {
  // Windows runs a file by its extension, so the staged name keeps .exe at its end.
  const name = basename(target);
  const ext = name.endsWith(".exe") ? ".exe" : "";
  const path = join(dirname(target), `.${name.slice(0, name.length - ext.length)}.upgrade-${process.pid}${ext}`);
  try {
    return { path, file: await open(path, "wx", 0o755) };
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UpgradeError(
      `cannot write in ${dirname(target)} (${code ?? String(err)}): run upgrade as the user who installed ` +
        `${target}, or reinstall with install.sh`,
    );
  }
}

/**
 * cleanOnSignal removes the staged file if Ctrl-C or a kill ends upgrade half-way (a 100 MB hidden file
 * would otherwise stay beside the binary), then lets the signal end the process as it would have.
 * The returned function takes the handlers away again.
 */
export function cleanOnSignal(staged: Staged): () => void {
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const handler = (signal: NodeJS.Signals) => {
    rmSync(staged.path, { force: true });
    off();
    process.kill(process.pid, signal);
  };
  const off = () => signals.forEach((s) => process.off(s, handler));
  signals.forEach((s) => process.once(s, handler));
  return off;
}

/** discard removes a staged file; the installed binary was never touched. */
export async function discard(staged: Staged): Promise<void> {
  await staged.file.close().catch(() => {});
  await rm(staged.path, { force: true });
}

/**
 * swap renames the staged file over target: one rename in one folder, so every reader sees the old
 * file or the new, never half of one. Windows cannot replace a running .exe, so it is moved aside
 * first (target.old, removed by the next upgrade) and put back if the second rename fails.
 */
export async function swap(staged: string, target: string, windows = process.platform === "win32"): Promise<void> {
  try {
    if (!windows) {
      await rename(staged, target);
      return;
    }
    const aside = `${target}.old`;
    await rm(aside, { force: true });
    await rename(target, aside);
    try {
      await rename(staged, target);
    } catch (err) {
      await rename(aside, target);
      throw err;
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UpgradeError(`cannot replace ${target} (${code ?? String(err)}); it is unchanged`);
  }
}

/** prepareFile finishes writing: the bytes flushed, the file closed and executable. */
export async function prepareFile(staged: Staged): Promise<void> {
  await staged.file.sync();
  await staged.file.close();
  await chmod(staged.path, 0o755);
}
