// The uppercase transform: Python's str.upper() on valid UTF-8, invalid bytes unchanged, streaming equal to whole.
import { describe, expect, test } from "bun:test";
import { sequenceLength, upcase, upcaseAsciiInPlace, Upcaser } from "../../src/protocol/utf8-upper.ts";
import table from "./python-upper.json";

const enc = (s: string) => new TextEncoder().encode(s);
const bytes = (...b: number[]) => new Uint8Array(b);
// Decoding keeps a leading U+FEFF, so the BOM is compared like any other character.
const dec = new TextDecoder("utf-8", { ignoreBOM: true });

/** rng is a small seeded generator, so a failing property run can be repeated. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * streamed pushes the input through an Upcaser cut at the given points. With `owned`, each piece
 * is handed over as the TCP server hands its reads: a copy at an odd offset in a larger buffer, which
 * the Upcaser may overwrite.
 */
function streamed(input: Uint8Array, cuts: number[], owned = false): Uint8Array {
  const up = new Upcaser();
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    const piece = input.subarray(from, cut);
    if (owned) {
      const room = new Uint8Array(piece.length + 3);
      const at = from % 4;
      room.set(piece, at);
      parts.push(up.pushOwned(room.subarray(at, at + piece.length)));
    } else parts.push(up.push(piece));
    from = cut;
  }
  parts.push(up.end());
  return Buffer.concat(parts);
}

describe("upcase", () => {
  test.each([
    ["hello", "HELLO"],
    ["", ""],
    ["Hello, World! 123", "HELLO, WORLD! 123"],
    ["straße", "STRASSE"],
    ["ﬁne", "FINE"],
    ["ǰ", "J̌"],
    ["ΐ", "\u0399\u0308\u0301"],
    ["한국어 abc", "한국어 ABC"],
    ["über ñ", "ÜBER Ñ"],
    ["line one\nline two\r\n", "LINE ONE\nLINE TWO\r\n"],
    ["😀 emoji", "😀 EMOJI"],
    ["\uFEFFbom first", "\uFEFFBOM FIRST"],
  ])("uppercases as Python's str.upper(): %p", (input, want) => {
    expect(dec.decode(upcase(enc(input)))).toBe(want);
  });

  test.each([
    ["a lone continuation byte", bytes(0x61, 0x80, 0x62), bytes(0x41, 0x80, 0x42)],
    ["an overlong encoding", bytes(0xc0, 0xaf, 0x78), bytes(0xc0, 0xaf, 0x58)],
    ["a surrogate", bytes(0xed, 0xa0, 0x80, 0x61), bytes(0xed, 0xa0, 0x80, 0x41)],
    ["above U+10FFFF", bytes(0xf4, 0x90, 0x80, 0x80, 0x7a), bytes(0xf4, 0x90, 0x80, 0x80, 0x5a)],
    ["a truncated sequence at the end", bytes(0x61, 0xc3), bytes(0x41, 0xc3)],
    ["a truncated sequence before ASCII", bytes(0xe2, 0x82, 0x61), bytes(0xe2, 0x82, 0x41)],
    ["0xff", bytes(0xff, 0xc3, 0xa4), bytes(0xff, 0xc3, 0x84)],
  ])("invalid UTF-8 is left as is: %s", (_name, input, want) => {
    expect(upcase(input)).toEqual(want);
  });

  test("every byte value alone: ASCII letters change, other bytes below 0x80 do not, lone high bytes stay", () => {
    for (let b = 0; b < 256; b++) {
      const want = b >= 0x61 && b <= 0x7a ? b - 32 : b;
      expect(upcase(bytes(b))).toEqual(bytes(want));
    }
  });
  test(
    "every pair of a high byte and any byte, before a continuation and a letter, is judged like a plain " + "reference",
    () => {
      // The scan decodes two- and three-byte characters inline; this reference goes character by
      // character through sequenceLength and toUpperCase, so the two must agree on every boundary case.
      const reference = (input: Uint8Array) => {
        const parts: Uint8Array[] = [];
        for (let i = 0; i < input.length; ) {
          const n = sequenceLength(input, i, input.length);
          const piece = input.subarray(i, i + Math.max(n, 1));
          parts.push(n > 0 ? enc(dec.decode(piece).toUpperCase()) : piece);
          i += Math.max(n, 1);
        }
        return new Uint8Array(Buffer.concat(parts));
      };
      let mismatches = 0;
      for (let b0 = 0x80; b0 < 0x100; b0++) {
        for (let b1 = 0; b1 < 0x100; b1++) {
          for (const tail of [[0x80, 0x61], [0xbf], []]) {
            const input = bytes(b0, b1, ...tail);
            if (Buffer.compare(Buffer.from(upcase(input)), Buffer.from(reference(input))) !== 0) mismatches++;
          }
        }
      }
      expect(mismatches).toBe(0);
    },
  );
});

describe("sequenceLength", () => {
  test.each([
    [bytes(0x41), 1],
    [bytes(0xc3, 0xa4), 2],
    [bytes(0xe2, 0x82, 0xac), 3],
    [bytes(0xf0, 0x9f, 0x98, 0x80), 4],
    [bytes(0xc3), -1],
    [bytes(0xf0, 0x9f), -1],
    [bytes(0x80), 0],
    [bytes(0xc1, 0x80), 0],
    [bytes(0xe0, 0x80, 0x80), 0],
    [bytes(0xf5, 0x80, 0x80, 0x80), 0],
  ])("sequenceLength judges the bytes as Table 3-7 does (case %#)", (input, want) => {
    expect(sequenceLength(input, 0, input.length)).toBe(want);
  });
});

describe("matches Python's str.upper()", () => {
  const upper = table.upper as Record<string, string>;
  const unassigned = table.unassigned as [number, number][];
  const pythonUnassigned = (cp: number) => unassigned.some(([lo, hi]) => cp >= lo && cp <= hi);

  test(`every code point Python ${table.python} (Unicode ${table.unicode}) uppercases`, () => {
    let checked = 0;
    for (const [cp, want] of Object.entries(upper)) {
      const got = dec.decode(upcase(enc(String.fromCodePoint(Number(cp)))));
      expect({ cp: Number(cp), got }).toEqual({ cp: Number(cp), got: want });
      checked++;
    }
    expect(checked).toBeGreaterThan(1400);
  });

  test("every other assigned code point is left as Python leaves it", () => {
    let differing = 0;
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (String(cp) in upper) continue;
      const ch = String.fromCodePoint(cp);
      const got = dec.decode(upcase(enc(ch)));
      if (got !== ch) {
        // Bun's ICU may carry a newer Unicode than Python's: a difference is allowed only where the
        // character or its uppercase is one Python's version has not assigned (U+019B → U+A7DC, Unicode 16).
        const newer = [ch, ...got].some((c) => pythonUnassigned(c.codePointAt(0)!));
        expect({ cp, got, newerThanPython: newer }).toEqual({ cp, got, newerThanPython: true });
        differing++;
      }
    }
    expect(differing).toBeLessThan(100);
  });

  test.each((table.samples as [string, string][]).map((s, i) => [i, s[0], s[1]] as const))(
    "sample %d",
    (_i, input, want) => {
      expect(dec.decode(upcase(enc(input)))).toBe(want);
    },
  );
});

describe("streaming", () => {
  test("a character split across chunks is uppercased as one character", () => {
    const input = enc("aßb€c😀ǰ");
    for (let cut = 0; cut <= input.length; cut++) {
      expect(streamed(input, [cut])).toEqual(upcase(input));
    }
  });

  test("the Upcaser holds back at most 3 bytes", () => {
    const up = new Upcaser();
    expect(up.push(bytes(0xf0, 0x9f, 0x98))).toEqual(bytes());
    expect(up.push(bytes(0x80))).toEqual(enc("😀"));
    expect(up.push(bytes(0xc3))).toEqual(bytes());
    expect(up.end()).toEqual(bytes(0xc3));
  });

  test("property: random bytes cut at random points stream to the same output as whole", () => {
    const next = rng(0x12000);
    const pieces = [
      enc("ß"),
      enc("한"),
      enc("😀"),
      enc("ǰ"),
      enc("a"),
      bytes(0xc3),
      bytes(0x80),
      bytes(0xf0, 0x9f),
      bytes(0xed, 0xa0),
    ];
    for (let run = 0; run < 2000; run++) {
      const parts: Uint8Array[] = [];
      const n = Math.floor(next() * 30);
      for (let k = 0; k < n; k++) {
        if (next() < 0.3) parts.push(bytes(Math.floor(next() * 256)));
        else parts.push(pieces[Math.floor(next() * pieces.length)]!);
      }
      const input = Buffer.concat(parts);
      const cuts = Array.from({ length: Math.floor(next() * 6) }, () => Math.floor(next() * (input.length + 1))).sort(
        (a, b) => a - b,
      );
      const whole = upcase(input);
      for (const owned of [false, true]) {
        const got = streamed(input, cuts, owned);
        if (!Buffer.from(got).equals(Buffer.from(whole))) {
          expect({ input: [...input], cuts, owned, got: [...got] }).toEqual({
            input: [...input],
            cuts,
            owned,
            got: [...whole],
          });
        }
      }
    }
  });

  test("property: valid UTF-8 strings uppercase like String.prototype.toUpperCase however they are cut", () => {
    const next = rng(7);
    const alphabet = [..."abcxyzßﬁǰΐ한국어üñ😀 \n"];
    for (let run = 0; run < 1000; run++) {
      const s = Array.from(
        { length: Math.floor(next() * 25) },
        () => alphabet[Math.floor(next() * alphabet.length)],
      ).join("");
      const input = enc(s);
      const cuts = Array.from({ length: 3 }, () => Math.floor(next() * (input.length + 1))).sort((a, b) => a - b);
      expect(dec.decode(streamed(input, cuts))).toBe(s.toUpperCase());
    }
  });

  test("upcase and push leave their input as it is, Buffers (whose slice() is a view) too", () => {
    for (const text of ["short ascii", "long ascii ".repeat(40), "straße 한국어", "ŉ grows ".repeat(40)]) {
      for (const make of [(s: string) => Buffer.from(s), (s: string) => enc(s)]) {
        const input = make(text);
        const before = [...input];
        const want = enc(text.toUpperCase());
        expect(upcase(input)).toEqual(want);
        expect(new Upcaser().push(input)).toEqual(want);
        expect([...input]).toEqual(before);
      }
    }
  });

  test("owned ASCII reads, long and short, at every alignment, are uppercased in place", () => {
    const ascii = new Uint8Array(1000).map((_, i) => i % 128);
    for (const len of [0, 1, 3, 4, 5, 255, 256, 257, 999]) {
      for (let at = 0; at < 4; at++) {
        const room = new Uint8Array(len + 8).fill(0x61);
        room.set(ascii.subarray(0, len), at);
        const chunk = room.subarray(at, at + len);
        const got = new Upcaser().pushOwned(chunk);
        expect(got).toEqual(upcase(ascii.subarray(0, len)));
        if (len > 0) expect(got.buffer).toBe(room.buffer);
        // The bytes around the chunk are not touched.
        expect([...room.subarray(0, at), ...room.subarray(at + len)].every((b) => b === 0x61)).toBe(true);
      }
    }
  });

  test("upcaseAsciiInPlace changes exactly a..z in every lane of a word", () => {
    for (let b = 0; b < 128; b++) {
      for (let lane = 0; lane < 4; lane++) {
        // Long enough to take the four-at-a-time path (short runs go byte by byte).
        const word = new Uint8Array(260).fill(0x7a);
        word[lane] = b;
        const want = word.map((x) => (x >= 0x61 && x <= 0x7a ? x - 32 : x));
        expect(upcaseAsciiInPlace(word)).toEqual(want);
      }
    }
  });

  test("a long stream with no newline passes through in constant held memory", () => {
    const up = new Upcaser();
    const chunk = enc("abcdefgh한국어ß".repeat(1000));
    let total = 0;
    for (let k = 0; k < 2000; k++) {
      // Cut each chunk inside a multi-byte character so the held bytes are exercised every time.
      total += up.push(chunk.subarray(0, 17)).length + up.push(chunk.subarray(17)).length;
    }
    total += up.end().length;
    expect(total).toBe(2000 * upcase(chunk).length);
  });
});
