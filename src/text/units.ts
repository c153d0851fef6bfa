// Reads and writes the units users type in option values, for every command and the domain alike: durations
// (500ms, 2s, 1m), counts and sizes (64k, 1m). Each reads the text exactly as typed: no spaces, signs, hex or
// exponents are guessed at.
import { UsageError } from "../errors.ts";
import { quote } from "./shown.ts";

/** UNIT_MS is each duration unit's milliseconds. */
export const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** parseDuration returns milliseconds; a bare number is seconds, as nc -w takes it. */
export function parseDuration(value: unknown, option: string): number {
  const text = String(value);
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] ?? "s"]! : NaN;
  if (!Number.isFinite(ms) || ms < 1 || ms > 2 ** 31 - 1) {
    throw new UsageError(`invalid duration for ${option}: ${quote(text)} (expected e.g. 500ms, 2s, 1m)`);
  }
  return Math.round(ms);
}

/** formatDuration is the inverse, for messages: 2000 → "2s", 1500 → "1.5s", 250 → "250ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(3)}s`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${+(ms / 60_000).toFixed(3)}m`;
}

/** formatSize writes a byte count as parseSize reads it, in the largest unit that divides it: 65536 → "64k". */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ["g", 1 << 30],
    ["m", 1 << 20],
    ["k", 1 << 10],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** parseCount reads a whole number from min (0 unless given) to max for an option such as --retries. */
export function parseCount(value: unknown, option: string, max: number, min = 0): number {
  const text = String(value);
  if (!/^\d+$/.test(text) || Number(text) > max || Number(text) < min) {
    throw new UsageError(`invalid ${option}: ${quote(text)} (expected a whole number from ${min} to ${max})`);
  }
  return Number(text);
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1 << 20,
  mb: 1 << 20,
  mib: 1 << 20,
  g: 1 << 30,
  gb: 1 << 30,
  gib: 1 << 30,
};

/** parseSize reads a byte count as users write it: 65536, 64k, 1m, 1.5MiB. */
export function parseSize(value: unknown, option: string): number {
  const text = String(value);
  const match = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(text);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  const bytes = match && unit ? Math.round(Number(match[1]) * unit) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new UsageError(`invalid size for ${option}: ${quote(text)} (expected e.g. 65536, 64k, 1m)`);
  }
  return bytes;
}
