// How many sockets a process may have open at once. Past its limit of open files (ulimit -n), socket() and accept()
// fail with EMFILE: Bun reports such a connect as ECONNREFUSED (Bun 1.4.5; `check --concurrency 1000` under
// `ulimit -n 128` said 878 of 1000 tries of an open port were "closed"), and its listener retries such an accept
// at once, for ever (`serve` under `ulimit -n 64` with 100 clients spun at 60% of a core, saying nothing).

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

/**
 * fitsIn is how many of something that holds `each` files fit within `limit` open files, `reserved` kept for the
 * rest (stdio, the event loop, listeners, fetch's and the resolver's; a quarter of a small limit): at least one.
 */
export function fitsIn(limit: number, each: number, reserved: number): number {
  return Math.max(1, Math.floor((limit - Math.min(reserved, Math.floor(limit / 4))) / each));
}

/** triesThatFit is how many of check's tries fit: two files a try (its socket, and a second look or connection). */
export const triesThatFit = (limit: number): number => fitsIn(limit, 2, 32);
