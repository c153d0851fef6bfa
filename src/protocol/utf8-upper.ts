// Uppercases UTF-8 bytes as Python's str.upper() does, leaving bytes that are not valid UTF-8 unchanged.

import { isAscii } from "node:buffer";

const encoder = new TextEncoder();

/**
 * sequenceLength tells what starts at bytes[i]: n > 0 for a valid UTF-8 sequence of n bytes,
 * 0 when no valid sequence starts there, -1 when the bytes run out before the sequence can be judged.
 * The byte ranges are Unicode's Table 3-7 (no overlongs, no surrogates, nothing above U+10FFFF).
 */
export function sequenceLength(bytes: Uint8Array, i: number, end: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    if (b0 === 0xe0) lo = 0xa0;
    else if (b0 === 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    if (b0 === 0xf0) lo = 0x90;
    else if (b0 === 0xf4) hi = 0x8f;
  } else return 0;
  for (let k = 1; k <= need; k++) {
    if (i + k >= end) return -1;
    const b = bytes[i + k]!;
    if (b < lo || b > hi) return 0;
    lo = 0x80;
    hi = 0xbf;
  }
  return need + 1;
}

/**
 * upcaseOwned uppercases bytes where they are and says where it stopped: at the end, or (with
 * `stream`) where a sequence starts that the next read may complete. Caseless characters and
 * non-letters are not even written. A character whose uppercase has another length (ŉ → ʼN,
 * ΐ → three code points, ı → I) cannot go in place: the output is then pieced together around it.
 */
function upcaseOwned(bytes: Uint8Array, stream: boolean): { out: Uint8Array; stop: number } {
  const to = bytes.length;
  let parts: Uint8Array[] | undefined;
  let start = 0; // where the bytes not yet in parts begin
  let i = 0;
  while (i < to) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      if (b0 >= 0x61 && b0 <= 0x7a) bytes[i] = b0 - 32;
      i++;
      continue;
    }
    // Two- and three-byte characters (Latin, Greek, Cyrillic, CJK, Hangul) are decoded inline;
    // the rest (four bytes, cut short, invalid) go through sequenceLength.
    let n: number;
    let cp: number;
    const b1 = i + 1 < to ? bytes[i + 1]! : 0;
    if (b0 >= 0xc2 && b0 <= 0xdf && (b1 & 0xc0) === 0x80) {
      n = 2;
      cp = ((b0 & 0x1f) << 6) | (b1 & 0x3f);
    } else if (
      b0 >= 0xe0 && b0 <= 0xef && i + 2 < to && (b1 & 0xc0) === 0x80 && (bytes[i + 2]! & 0xc0) === 0x80 &&
      (b0 === 0xe0 ? b1 >= 0xa0 : b0 === 0xed ? b1 <= 0x9f : true)
    ) {
      n = 3;
      cp = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (bytes[i + 2]! & 0x3f);
    } else {
      n = sequenceLength(bytes, i, to);
      if (n <= 0) {
        if (n < 0 && stream) break;
        // Not valid UTF-8 here: the byte stays as it is, and the scan resumes after it.
        i++;
        continue;
      }
      cp = codePoint(bytes, i, n);
    }
    const kind = cp < 0x10000 ? BMP_KIND[cp]! : UNKNOWN;
    if (kind !== CASELESS) {
      const upper = kind === CASED ? BMP_UPPER[cp] : upperOf(cp);
      if (upper !== undefined && upper.length === n) {
        for (let k = 0; k < n; k++) bytes[i + k] = upper[k]!;
      } else if (upper !== undefined) {
        (parts ??= []).push(bytes.subarray(start, i), upper);
        start = i + n;
      }
    }
    i += n;
  }
  if (!parts) return { out: bytes.subarray(0, i), stop: i };
  parts.push(bytes.subarray(start, i));
  return { out: concat(parts), stop: i };
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** codePoint decodes the valid n-byte sequence at bytes[i]. */
function codePoint(bytes: Uint8Array, i: number, n: number): number {
  const b0 = bytes[i]!;
  if (n === 2) return ((b0 & 0x1f) << 6) | (bytes[i + 1]! & 0x3f);
  if (n === 3) return ((b0 & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f);
  return ((b0 & 0x07) << 18) | ((bytes[i + 1]! & 0x3f) << 12) | ((bytes[i + 2]! & 0x3f) << 6) | (bytes[i + 3]! & 0x3f);
}

/**
 * upperOf is the UTF-8 of a code point's uppercase, or undefined when uppercase leaves it as it is.
 * Learned from toUpperCase one code point at a time and remembered: uppercasing in Unicode has no
 * context (Python's str.upper() and JS's toUpperCase both apply SpecialCasing's unconditional rules only).
 */
function upperOf(cp: number): Uint8Array | undefined {
  if (cp < 0x10000) {
    const kind = BMP_KIND[cp]!;
    if (kind === CASELESS) return undefined;
    if (kind === CASED) return BMP_UPPER[cp];
    const upper = learnUpper(cp);
    BMP_KIND[cp] = upper === undefined ? CASELESS : CASED;
    if (upper !== undefined) BMP_UPPER[cp] = upper;
    return upper;
  }
  // Astral planes: one byte of kind a code point (1 MiB, made on first use) and a map of the cased
  // ones only, which Unicode keeps to a few hundred; a map of every code point seen grew to ~60 MB.
  const kinds = (ASTRAL_KIND ??= new Uint8Array(0x100000));
  const kind = kinds[cp - 0x10000]!;
  if (kind === CASELESS) return undefined;
  if (kind === CASED) return ASTRAL_UPPER.get(cp);
  const upper = learnUpper(cp);
  kinds[cp - 0x10000] = upper === undefined ? CASELESS : CASED;
  if (upper !== undefined) ASTRAL_UPPER.set(cp, upper);
  return upper;
}

function learnUpper(cp: number): Uint8Array | undefined {
  const s = String.fromCodePoint(cp);
  const upper = s.toUpperCase();
  return upper === s ? undefined : encoder.encode(upper);
}

const UNKNOWN = 0;
const CASELESS = 1;
const CASED = 2;
const BMP_KIND = new Uint8Array(0x10000).fill(UNKNOWN);
const BMP_UPPER: (Uint8Array | undefined)[] = [];
let ASTRAL_KIND: Uint8Array | undefined;
const ASTRAL_UPPER = new Map<number, Uint8Array>();

/** WHOLE_MIN: below this many bytes, a plain byte loop beats the native isAscii and the word loop. */
const WHOLE_MIN = 256;

/**
 * upcaseAsciiOwned uppercases bytes in place when they are all ASCII and says whether they were.
 * It may give up halfway through a short run: the ASCII letters changed by then are what the full
 * scan makes of them, so the caller goes on with the same bytes.
 */
function upcaseAsciiOwned(bytes: Uint8Array): boolean {
  if (bytes.length < WHOLE_MIN) return upcaseShortInPlace(bytes);
  if (!isAscii(bytes)) return false;
  upcaseAsciiInPlace(bytes);
  return true;
}

/**
 * upcaseShortInPlace uppercases a few bytes in one pass and says whether they were all ASCII. It
 * may stop halfway: the ASCII letters it has changed by then are what the full path makes of them.
 */
function upcaseShortInPlace(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) return false;
    if (b >= 0x61 && b <= 0x7a) bytes[i] = b - 32;
  }
  return true;
}

const EMPTY_WORDS = new Uint32Array(0);

/**
 * upcaseAsciiInPlace uppercases a long run of ASCII where it is, four bytes at a time: a byte below
 * 0x80 with its top bit set cannot borrow from its neighbour, so one subtraction per bound marks
 * 'a'..'z' in all four lanes, and the mark shifted to 0x20 flips the case. Twice as fast as decode,
 * toUpperCase and encode, and it allocates nothing. (Short runs go byte by byte: asking a small
 * typed array for its buffer makes JSC give it an ArrayBuffer of its own, which costs more.)
 */
export function upcaseAsciiInPlace(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  let i = 0;
  for (; i < n && ((bytes.byteOffset + i) & 3) !== 0; i++) if (bytes[i]! >= 0x61 && bytes[i]! <= 0x7a) bytes[i]! -= 32;
  // Only whole aligned words: a read shorter than its misalignment has none (and no view to make).
  const words = (n - i) >>> 2;
  const w32 = words > 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset + i, words) : EMPTY_WORDS;
  for (let k = 0; k < words; k++) {
    const w = w32[k]!;
    const h = w | 0x80808080;
    w32[k] = w ^ (((h - 0x61616161) & ~(h - 0x7b7b7b7b) & 0x80808080) >>> 2);
  }
  for (i += words << 2; i < n; i++) if (bytes[i]! >= 0x61 && bytes[i]! <= 0x7a) bytes[i]! -= 32;
  return bytes;
}

/** upcase uppercases a whole message, as one datagram or one complete stream. */
export function upcase(bytes: Uint8Array): Uint8Array {
  const copy = copyOf(bytes);
  return upcaseAsciiOwned(copy) ? copy : upcaseOwned(copy, false).out;
}

const NOTHING = new Uint8Array(0);

/** copyOf copies bytes. Not bytes.slice(): on a Buffer (what Bun's sockets hand over) slice is a view. */
function copyOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** Upcaser uppercases a stream chunk by chunk, holding back at most 3 bytes of a character split across chunks. */
export class Upcaser {
  private held: Uint8Array = NOTHING;

  /** push returns the uppercase of everything that can be judged so far; the chunk is left as it is. */
  push(chunk: Uint8Array): Uint8Array {
    // With bytes held, pushOwned copies the chunk behind them anyway.
    return this.pushOwned(this.held.length > 0 ? chunk : copyOf(chunk));
  }

  /**
   * pushOwned is push for a caller that hands the chunk over (a TCP read): the chunk is uppercased
   * where it is and returned, or a view of it, with nothing allocated unless a character grows.
   */
  pushOwned(chunk: Uint8Array): Uint8Array {
    if (this.held.length > 0) return this.scan(this.withHeld(chunk));
    return upcaseAsciiOwned(chunk) ? chunk : this.scan(chunk);
  }

  /** end returns the bytes still held: an incomplete sequence, which is not valid UTF-8, so unchanged. */
  end(): Uint8Array {
    const rest = this.held;
    this.held = NOTHING;
    return rest;
  }

  private withHeld(chunk: Uint8Array): Uint8Array {
    const input = new Uint8Array(this.held.length + chunk.length);
    input.set(this.held);
    input.set(chunk, this.held.length);
    return input;
  }

  private scan(owned: Uint8Array): Uint8Array {
    const { out, stop } = upcaseOwned(owned, true);
    this.held = stop < owned.length ? copyOf(owned.subarray(stop)) : NOTHING;
    return out;
  }
}
