// Runs upcat and check_tcp side by side on one cell and says whether they agree, or why they may not (the README's
// list).
import { readFileSync } from "node:fs";
import { runPeer } from "../support/peers.ts";
import { fromSource, run } from "../support/run.ts";

const PLUGINS = "/usr/lib/nagios/plugins";
const NAGIOS_CRITICAL = 2;
const README = new URL("../../README.md", import.meta.url).pathname;

/** plugin is the path of a monitoring plugin (the oracle), or a failure naming the package that has it. */
export function plugin(name: string): string {
  const path = `${PLUGINS}/${name}`;
  if (!Bun.file(path).size)
    throw new Error(`${path} is missing: apt-get install -y monitoring-plugins-basic (listed in .ci/apt-packages)`);
  return path;
}

/**
 * listedDifferences reads the ids of the README's "Where upcat differs from check_tcp/nc" list: each
 * item starts with its id in bold (`- **self-signed**: ...`). A cell may disagree with the oracle only
 * under one of these ids.
 */
export function listedDifferences(): Set<string> {
  const text = readFileSync(README, "utf8");
  const start = text.indexOf("Where upcat differs from check_tcp/nc");
  if (start < 0) throw new Error("README.md has no 'Where upcat differs from check_tcp/nc' list");
  const end = text.indexOf("\n#", start);
  const list = text.slice(start, end < 0 ? undefined : end);
  return new Set([...list.matchAll(/^- \*\*([\w-]+)\*\*/gm)].map((m) => m[1]!));
}

/** Cell is one server × one set of options, said for both tools. */
export interface Cell {
  name: string;
  upcat: string[];
  checkTcp: string[];
  /** differs names the README item that explains why the verdicts differ here; without it they must agree. */
  differs?: string;
}

export interface Verdicts {
  upcat: number;
  upcatLine: string;
  oracle: number;
  oracleLine: string;
}

/** prefix runs both tools inside a network namespace (ip netns exec NAME), or on this host. */
export async function verdicts(
  cell: Cell,
  target: string,
  host: string,
  port: number,
  prefix: string[] = [],
): Promise<Verdicts> {
  const [ours, theirs] = await Promise.all([
    prefix.length
      ? runPeer([...prefix, ...fromSource.argv, "check", "--nagios", target, ...cell.upcat], undefined, 20_000)
      : run(fromSource, ["check", "--nagios", target, ...cell.upcat], { timeoutMs: 20_000 }),
    runPeer([...prefix, plugin("check_tcp"), "-H", host, "-p", String(port), ...cell.checkTcp], undefined, 20_000),
  ]);
  // check_tcp dies of SIGPIPE when a peer closes before its TLS hello goes out: no verdict printed, which
  // a monitoring system shows as a failed check. Counted as CRITICAL; upcat says CRITICAL with a reason.
  const oracle = theirs.status ?? NAGIOS_CRITICAL;
  return {
    upcat: ours.status ?? -1,
    upcatLine: ours.stdout.trim(),
    oracle,
    oracleLine: theirs.status === null ? "killed by a signal" : theirs.stdout.trim(),
  };
}

/**
 * judge returns "" when the cell is as it should be: the same monitoring status from both (so upcat
 * passes exactly where check_tcp says OK), or a difference the README lists, under the id the cell names.
 */
export function judge(cell: Cell, v: Verdicts, listed: Set<string>): string {
  const same = v.upcat === v.oracle;
  const say = `${cell.name}: upcat ${v.upcat} (${v.upcatLine}) vs check_tcp ${v.oracle} (${v.oracleLine})`;
  if (cell.differs === undefined) return same ? "" : `unlisted disagreement: ${say}`;
  if (!listed.has(cell.differs)) return `"${cell.differs}" is not in the README's list of differences: ${say}`;
  return same ? `listed as differing ("${cell.differs}") but the verdicts agree: ${say}` : "";
}

/**
 * inBatches runs tasks at most `size` at a time (two cores are shared: check_tcp's timeouts overlap, CPU does not pile
 * up).
 */
export async function inBatches<T>(tasks: (() => Promise<T>)[], size: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}
