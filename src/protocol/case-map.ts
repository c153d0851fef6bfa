// The uppercase of one code point, as Python's str.upper() and JavaScript's toUpperCase() give it,
// learned once a code point and kept in tables of a fixed size.

const encoder = new TextEncoder();

/**
 * upperOf is the UTF-8 of a code point's uppercase, or undefined when uppercase leaves it as it is.
 * Learned from toUpperCase one code point at a time and remembered: uppercasing in Unicode has no
 * context (Python's str.upper() and JS's toUpperCase both apply SpecialCasing's unconditional rules only).
 */
export function upperOf(cp: number): Uint8Array | undefined {
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

/** A code point's kind, once learned: its uppercase is itself (CASELESS) or in the table (CASED). */
export const UNKNOWN = 0;
export const CASELESS = 1;
export const CASED = 2;
/** BMP_KIND and BMP_UPPER are read directly by the fast scanner, which looks up every character. */
export const BMP_KIND = new Uint8Array(0x10000).fill(UNKNOWN);
export const BMP_UPPER: (Uint8Array | undefined)[] = [];
let ASTRAL_KIND: Uint8Array | undefined;
const ASTRAL_UPPER = new Map<number, Uint8Array>();
