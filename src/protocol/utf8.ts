// UTF-8 as Unicode's Table 3-7 defines it: how long the sequence at a byte is, and the code point it holds.

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

/** codePoint decodes the valid n-byte sequence at bytes[i] (n from sequenceLength). */
export function codePoint(bytes: Uint8Array, i: number, n: number): number {
  const b0 = bytes[i]!;
  if (n === 2) return ((b0 & 0x1f) << 6) | (bytes[i + 1]! & 0x3f);
  if (n === 3) return ((b0 & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f);
  return ((b0 & 0x07) << 18) | ((bytes[i + 1]! & 0x3f) << 12) | ((bytes[i + 2]! & 0x3f) << 6) | (bytes[i + 3]! & 0x3f);
}
