// How many sockets a process may have open at once. Past its limit of open files (ulimit -n), socket() and accept()
// fail with EMFILE: Bun reports such a connect as ECONNREFUSED (Bun 1.4.5; `check --concurrency 1000` under
// `ulimit -n 128` said 878 of 1000 tries of an open port were "closed"), and its listener retries such an accept
// at once, for ever (`serve` under `ulimit -n 64` with 100 clients spun at 60% of a core, saying nothing).

/**
 * openFileLimit is how many files this process may have open (Bun raises the soft limit to the hard one at its
 * start), or undefined where /proc does not say (off Linux) or there is no limit.
 */
async function openFileLimit(): Promise<number | undefined> {
  if (process.platform !== "linux") return undefined;
  try {
    const limits = await Bun.file("/proc/self/limits").text();
    const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
    return soft === undefined ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/** Room is how many fit within the open-file limit, of something each holding `each` files, `reserved` kept. */
export interface Room {
  /** each is the files one holds (a try, a connection, a probe). */
  each: number;
  /** reserved are kept for the rest (stdio, the event loop, listeners, fetch's, the resolver's): at most a quarter. */
  reserved: number;
  /** processes share the count, each with a limit of its own (bench --workers); 1 by default. */
  processes?: number;
  /** reach is the most that can ever be open at once (check: a try a target at most); the count by default. */
  reach?: number;
}

/** Lowered is what a count must come down to, and the limit that says so. */
export interface Lowered {
  from: number;
  to: number;
  openFiles: number;
}

/**
 * lowered says what `wanted` must come down to for every one of them to get its files, or undefined when it fits (or
 * the limit is not known): at least one a process.
 */
export async function lowered(wanted: number, room: Room): Promise<Lowered | undefined> {
  const limit = await openFileLimit();
  if (limit === undefined) return undefined;
  const perProcess = Math.max(1, Math.floor((limit - Math.min(room.reserved, Math.floor(limit / 4))) / room.each));
  const to = perProcess * (room.processes ?? 1);
  return to >= Math.min(wanted, room.reach ?? wanted) ? undefined : { from: wanted, to, openFiles: limit };
}

/** loweredText says a lowering: `--concurrency 1000 lowered to 48: this process may have 128 files open (ulimit -n)` */
export function loweredText(option: string, l: Lowered, who = "this process"): string {
  return `${option} ${l.from} lowered to ${l.to}: ${who} may have ${l.openFiles} files open (ulimit -n)`;
}
