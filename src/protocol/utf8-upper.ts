// Uppercases UTF-8 bytes as Python's str.upper() does, leaving bytes that are not valid UTF-8 unchanged.

const encoder = new TextEncoder();
// ignoreBOM: a U+FEFF at the start of a run is text to pass on, not a marker to drop.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** ASCII_UPPER maps each byte below 0x80 to its uppercase; the fast path for ASCII text. */
const ASCII_UPPER = new Uint8Array(128).map((_, b) => (b >= 0x61 && b <= 0x7a ? b - 32 : b));

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

/** Output is a growable byte buffer; uppercase can make text longer (ß → SS, ΐ → three code points). */
class Output {
  buf: Uint8Array;
  len = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }
  reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + extra));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  ascii(src: Uint8Array, from: number, to: number): void {
    this.reserve(to - from);
    const buf = this.buf;
    let o = this.len;
    for (let i = from; i < to; i++) buf[o++] = ASCII_UPPER[src[i]!]!;
    this.len = o;
  }
  raw(src: Uint8Array, from: number, to: number): void {
    this.reserve(to - from);
    this.buf.set(src.subarray(from, to), this.len);
    this.len += to - from;
  }
  text(s: string): void {
    // Three bytes a UTF-16 unit bounds any UTF-8 encoding of s.
    this.reserve(s.length * 3);
    this.len += encoder.encodeInto(s, this.buf.subarray(this.len)).written;
  }
  bytes(): Uint8Array {
    return this.len === this.buf.length ? this.buf : this.buf.subarray(0, this.len);
  }
}

/**
 * upcaseRange uppercases bytes[from, to) into out and returns where it stopped: `to`, or earlier
 * when `stream` is set and the range ends inside a sequence that the next bytes may complete.
 */
function upcaseRange(bytes: Uint8Array, from: number, to: number, out: Output, stream: boolean): number {
  // The common case first: a range that is all valid UTF-8 (but for a character the next chunk
  // completes) is validated, decoded and uppercased whole, natively, not byte by byte.
  if (out.len === 0 && to - from >= WHOLE_MIN) {
    const cut = stream ? heldFrom(bytes, from, to) : to;
    let text: string | undefined;
    try {
      text = fatalDecoder.decode(bytes.subarray(from, cut));
    } catch {}
    if (text !== undefined) {
      const upper = encoder.encode(text.toUpperCase());
      out.buf = upper;
      out.len = upper.length;
      return cut;
    }
    // Not valid UTF-8 somewhere: the byte-by-byte path below keeps the bad bytes as they are.
  }
  let i = from;
  let run = from; // start of the valid text not yet written
  let runAscii = true;
  const flushRun = (at: number) => {
    if (at > run) {
      if (runAscii) out.ascii(bytes, run, at);
      else out.text(decoder.decode(bytes.subarray(run, at)).toUpperCase());
    }
    runAscii = true;
  };
  while (i < to) {
    if (bytes[i]! < 0x80) {
      i++;
      continue;
    }
    const n = sequenceLength(bytes, i, to);
    if (n > 0) {
      runAscii = false;
      i += n;
      continue;
    }
    flushRun(i);
    if (n < 0 && stream) return i;
    // Not valid UTF-8 here: the byte goes back unchanged, and the scan resumes after it.
    out.raw(bytes, i, i + 1);
    i++;
    run = i;
  }
  flushRun(to);
  return to;
}

/** WHOLE_MIN: below this many bytes, the byte-by-byte path is as quick as the native one. */
const WHOLE_MIN = 256;
const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** heldFrom is where a sequence that the range cuts short begins (to hold it back), or `to`. */
function heldFrom(bytes: Uint8Array, from: number, to: number): number {
  for (let k = to - 1; k >= from && k >= to - 3; k--) {
    const b = bytes[k]!;
    if (b < 0x80) return to;
    if (b >= 0xc0) return sequenceLength(bytes, k, to) < 0 ? k : to;
  }
  return to;
}

/**
 * asciiUpcase uppercases short ASCII in one pass, or returns undefined at the first byte that is not
 * ASCII: most datagrams and small segments are ASCII, and this path costs one allocation and one loop.
 */
function asciiUpcase(bytes: Uint8Array): Uint8Array | undefined {
  const n = bytes.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) return undefined;
    out[i] = ASCII_UPPER[b]!;
  }
  return out;
}

/** upcase uppercases a whole message, as one datagram or one complete stream. */
export function upcase(bytes: Uint8Array): Uint8Array {
  if (bytes.length < WHOLE_MIN) {
    const ascii = asciiUpcase(bytes);
    if (ascii) return ascii;
  }
  const out = new Output(bytes.length);
  upcaseRange(bytes, 0, bytes.length, out, false);
  return out.bytes();
}

/** Upcaser uppercases a stream chunk by chunk, holding back at most 3 bytes of a character split across chunks. */
export class Upcaser {
  private held: Uint8Array = new Uint8Array(0);

  /** push returns the uppercase of everything that can be judged so far. */
  push(chunk: Uint8Array): Uint8Array {
    if (this.held.length === 0 && chunk.length < WHOLE_MIN) {
      const ascii = asciiUpcase(chunk);
      if (ascii) return ascii;
    }
    let input = chunk;
    if (this.held.length > 0) {
      input = new Uint8Array(this.held.length + chunk.length);
      input.set(this.held);
      input.set(chunk, this.held.length);
    }
    const out = new Output(input.length);
    const stop = upcaseRange(input, 0, input.length, out, true);
    this.held = input.slice(stop);
    return out.bytes();
  }

  /** end returns the bytes still held: an incomplete sequence, which is not valid UTF-8, so unchanged. */
  end(): Uint8Array {
    const rest = this.held;
    this.held = new Uint8Array(0);
    return rest;
  }
}
