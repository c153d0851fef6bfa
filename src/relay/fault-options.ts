// Reads the relay's fault options as typed (`--delay down:50ms±10ms`, `--loss 1%`, `--reset-after 64k`), once,
// strictly.
import { UsageError } from "../errors.ts";
import type { Transport } from "../transport/transport.ts";
import { parseCount, parseDuration, parseSize } from "../text/units.ts";
import {
  type After,
  DIRECTIONS,
  type Direction,
  type DirectionFaults,
  FAULT_TRANSPORTS,
  type FaultName,
  type Faults,
} from "./faults.ts";
import { quote } from "../text/shown.ts";

/** REORDER_MAX bounds --reorder's group: each session holds at most this many datagrams a direction for it. */
export const REORDER_MAX = 64;
/** CHUNK_MAX: a --chunk larger than a segment would not cut anything. */
export const CHUNK_MAX = 65536;

/** FaultOptionValues are the raw option values, each a string, true (given bare) or (repeated) an array. */
export type FaultOptionValues = Partial<Record<FaultName, unknown>>;

/**
 * BARE is what a fault option given alone means, both ways: `--duplicate` sends every datagram twice, `--reorder`
 * swaps each pair. Only these two may be given alone; every other fault needs its amount.
 */
const BARE: Partial<Record<FaultName, DirectionFaults[FaultName]>> = { duplicate: 1, reorder: 2 };

/**
 * BARE_VALUE says which word after a bare-able option is its value: a number (5, 0.5%, 3) or a word aimed at a
 * direction (down:100%). Any other word is LISTEN, TARGET or an option, and the option was given alone.
 */
export const BARE_VALUE = /^(?:up|down):|^\d+(?:\.\d+)?%?$/;

/** OPTION names each fault's command-line option. */
const OPTION: Record<FaultName, string> = {
  delay: "--delay",
  bandwidth: "--bandwidth",
  loss: "--loss",
  duplicate: "--duplicate",
  reorder: "--reorder",
  chunk: "--chunk",
  resetAfter: "--reset-after",
  stallAfter: "--stall-after",
};

/** Each reader takes the value after any `up:`/`down:` prefix. */
const READERS: Record<FaultName, (value: string, option: string) => DirectionFaults[FaultName]> = {
  delay: readDelay,
  bandwidth: parseSize,
  loss: readPercent,
  duplicate: readPercent,
  reorder: (v, o) => parseCount(v, o, REORDER_MAX, 2),
  chunk: readChunk,
  resetAfter: readAfter,
  stallAfter: readAfter,
};

/**
 * parseFaults reads every fault option for a relay of `transport`. A value aims at one direction
 * with an `up:` (client → target) or `down:` (target → client) prefix, and at both without one; an
 * option may be given once a direction. A fault that means nothing on the transport is refused.
 */
export function parseFaults(raw: FaultOptionValues, transport: Transport, seed: number): Faults {
  const faults: Faults = { up: {}, down: {}, seed };
  for (const name of Object.keys(READERS) as FaultName[]) {
    const given = raw[name];
    if (given === undefined || given === false) continue;
    const option = OPTION[name];
    if (!FAULT_TRANSPORTS[name].includes(transport))
      throw new UsageError(
        `${option} is for ${FAULT_TRANSPORTS[name].join(" and ").toUpperCase()} relays, not ` +
          `${transport.toUpperCase()}${HINTS[name] ?? ""}`,
      );
    for (const item of Array.isArray(given) ? given : [given]) {
      // A word as typed, or true where the option came alone (cac refuses that of the options that need a value).
      if (item === true && BARE[name] === undefined) throw new UsageError(`${option} needs a value`);
      const text = String(item);
      const prefix = item === true ? null : /^(up|down):(.*)$/s.exec(text);
      const dirs: readonly Direction[] = prefix ? [prefix[1] as Direction] : DIRECTIONS;
      const value = item === true ? BARE[name] : READERS[name](prefix ? prefix[2]! : text, option);
      for (const dir of dirs) {
        if (faults[dir][name] !== undefined)
          throw new UsageError(`${option} is given twice for ${dir} (aim each at one direction with up: or down:)`);
        (faults[dir] as Record<FaultName, unknown>)[name] = value;
      }
    }
  }
  return faults;
}

/** HINTS say what to use instead where a fault does not fit the transport. */
const HINTS: Partial<Record<FaultName, string>> = {
  loss: " (TCP repairs loss; try --delay or --stall-after)",
  duplicate: " (TCP repairs duplicates)",
  reorder: " (TCP repairs reordering)",
  chunk: " (a datagram is never cut)",
  resetAfter: " (UDP has no connection to reset; try --stall-after)",
};

/** readDelay reads `50ms` or `50ms±10ms` (`+-` for ±); the jitter may not exceed the delay. */
function readDelay(text: string, option: string): { ms: number; jitterMs: number } {
  const [base = "", jitter, extra] = text.split(/±|\+-/);
  if (extra !== undefined) throw new UsageError(`invalid ${option} ${quote(text)} (expected e.g. 50ms or 50ms±10ms)`);
  const ms = parseDuration(base, option);
  const jitterMs = jitter === undefined ? 0 : parseDuration(jitter, option);
  if (jitterMs > ms) throw new UsageError(`invalid ${option} ${quote(text)}: the jitter cannot exceed the delay`);
  return { ms, jitterMs };
}

/** readPercent reads `1%`, `0.5%`, `100%` into a probability. */
function readPercent(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)%$/.exec(text);
  const p = match ? Number(match[1]) : NaN;
  if (!(p >= 0 && p <= 100))
    throw new UsageError(`invalid ${option} ${quote(text)} (expected a percentage from 0% to 100%, e.g. 1% or 0.5%)`);
  return p / 100;
}

function readChunk(text: string, option: string): number {
  const bytes = parseSize(text, option);
  if (bytes > CHUNK_MAX) throw new UsageError(`invalid ${option} ${quote(text)} (at most ${CHUNK_MAX} bytes)`);
  return bytes;
}

/**
 * readAfter reads SIZE or DURATION. A duration needs ms, s or h; a bare number or k, mb, g... is a
 * size; a lone "m" could be either (a minute, a mebibyte), so it is refused rather than guessed.
 * 0 is at once.
 */
function readAfter(text: string, option: string): After {
  // 0: at once (a target that resets or hangs as soon as it is reached).
  if (text === "0") return { bytes: 0 };
  if (/^\d+(?:\.\d+)?m$/i.test(text))
    throw new UsageError(
      `invalid ${option} ${quote(text)}: m is ambiguous (write ${text.slice(0, -1)}mb for bytes, or seconds such as ` +
        `${Number(text.slice(0, -1)) * 60}s)`,
    );
  if (/^\d+(?:\.\d+)?(ms|s|h)$/.test(text)) return { ms: parseDuration(text, option) };
  if (/^\d+(?:\.\d+)?[a-z]*$/i.test(text)) return { bytes: parseSize(text, option) };
  throw new UsageError(`invalid ${option} ${quote(text)} (expected a size such as 64k or a duration such as 2s)`);
}
