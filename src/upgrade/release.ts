// Where a release's files are: the folder that holds the assets, SHA256SUMS and VERSION, as install.sh finds it.

/** RELEASES is the GitHub releases page; /latest/download/ and /download/vX/ are its folders. */
const RELEASES = "https://github.com/upcat/upcat/releases";

/** Source is the folder upgrade downloads from, and whether the user pinned it. */
export interface Source {
  folder: string;
  /** mirror is true when UPCAT_BASE_URL chose the folder: a version asked for must be the one it holds. */
  mirror: boolean;
}

/**
 * releaseSource picks the folder: UPCAT_BASE_URL (a mirror, as install.sh honours it) wins; otherwise the
 * latest release, or release vX when a version is asked for. UPCAT_RELEASES_URL replaces the GitHub
 * releases page (a GitHub Enterprise server, or a test's loopback server laid out the same way).
 */
export function releaseSource(env: Record<string, string | undefined>, version?: string): Source {
  const base = env.UPCAT_BASE_URL;
  if (base) return { folder: base.replace(/\/+$/, ""), mirror: true };
  const root = (env.UPCAT_RELEASES_URL || RELEASES).replace(/\/+$/, "");
  return { folder: version ? `${root}/download/v${version}` : `${root}/latest/download`, mirror: false };
}
