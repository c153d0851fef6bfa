// Reads option values as users write them, once, at the edge: the units every command shares (durations,
// counts, sizes: text/units.ts, which the domain reads too), workers, check_tcp's thresholds and certificate days.
// Each reads the text exactly as typed: no spaces, signs, hex or exponents are guessed at.
import { UsageError } from "../errors.ts";
import { quote } from "../text/shown.ts";
import { parseCount, UNIT_MS } from "../text/units.ts";

export { formatDuration, formatSize, parseCount, parseDuration, parseSize } from "../text/units.ts";

/** MAX_WORKERS bounds --workers: beyond the machine's cores processes only take turns. */
const MAX_WORKERS = 256;

/**
 * parseWorkers reads --workers (serve, relay, bench): a count from 1 to MAX_WORKERS, or auto for one a core, up to
 * autoMax.
 */
export function parseWorkers(value: unknown, autoMax = Number.POSITIVE_INFINITY): number {
  if (String(value) !== "auto") return parseCount(value, "--workers", MAX_WORKERS, 1);
  // node:os is loaded for auto only: every command reads its options through this module.
  return Math.min((require("node:os") as typeof import("node:os")).availableParallelism(), autoMax);
}

/**
 * parseThreshold reads a response-time threshold as check_tcp takes -w/-c: seconds, fractional and
 * below a millisecond too (0.5, 0.000001), or with a unit (0.5ms, 2s). It returns milliseconds, unrounded.
 */
export function parseThreshold(value: unknown, option: string): number {
  const text = String(value).trim();
  const match = /^(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)?$/.exec(text);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] ?? "s"]! : NaN;
  if (!Number.isFinite(ms) || ms > 2 ** 31 - 1) {
    throw new UsageError(
      `invalid ${option}: ${quote(text)} (expected seconds as check_tcp takes them, e.g. 0.5, 0.000001, or 500ms, 2s)`,
    );
  }
  return ms;
}

/**
 * parseCertDays reads --cert-days WARN or WARN,CRIT (whole days, as check_tcp/check_http -D); CRIT is 0 when not given.
 */
export function parseCertDays(value: unknown, option: string): { warning: number; critical: number } {
  const text = String(value).trim();
  const match = /^(\d{1,5})(?:,(\d{1,5}))?$/.exec(text);
  if (!match || Number(match[1]) > 36_500 || Number(match[2] ?? 0) > 36_500) {
    throw new UsageError(`invalid ${option}: ${quote(text)} (expected days as WARN or WARN,CRIT, e.g. 14 or 14,7)`);
  }
  return { warning: Number(match[1]), critical: Number(match[2] ?? 0) };
}
