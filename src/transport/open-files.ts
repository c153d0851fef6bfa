// How many sockets a client may have open at once. Past the process's limit of open files (ulimit -n), socket()
// fails with EMFILE, and Bun reports that connect as ECONNREFUSED (Bun 1.4.5): `check --concurrency 1000` under
// `ulimit -n 128` said 878 of 1000 tries of an open port were "closed".

/** RESERVED are the files a check keeps open besides its tries: stdio, the event loop's, fetch's and the resolver's. */
const RESERVED = 32;
/** PER_TRY is the most one try holds: its socket, and a second look or a second connection (a service's poke). */
const PER_TRY = 2;

/**
 * openFileLimit is how many files this process may have open (Bun raises the soft limit to the hard one at its
 * start), or undefined where /proc does not say (off Linux) or there is no limit.
 */
export async function openFileLimit(): Promise<number | undefined> {
  if (process.platform !== "linux") return undefined;
  try {
    const limits = await Bun.file("/proc/self/limits").text();
    const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
    return soft === undefined ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/** triesThatFit is how many tries may be in flight at once within `limit` open files: at least one. */
export function triesThatFit(limit: number): number {
  return Math.max(1, Math.floor((limit - RESERVED) / PER_TRY));
}
