// escapeControl, cut and quote: what a peer controls is shown, never obeyed; no input is quoted whole.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { cut, escapeControl, QUOTE_MAX, quote } from "../../src/text/shown.ts";

/** A terminal obeys these: C0, DEL, C1 and the bidi controls. None may survive escaping. */
const OBEYED = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

describe("escapeControl", () => {
  test.each([
    ["plain text", "plain text"],
    ["straße 😀 한국어", "straße 😀 한국어"],
    ["a\nb\r\tc", "a\\nb\\r\\tc"],
    ["\u001b[31mred\u001b[0m", "\\e[31mred\\e[0m"],
    ["bell\u0007", "bell\\x07"],
    ["nul\u0000", "nul\\x00"],
    ["del\u007f", "del\\x7f"],
    ["c1 csi\u009b2J", "c1 csi\\x9b2J"],
    ["\u202eevil", "\\u{202e}evil"],
    ["\u2066iso\u2069", "\\u{2066}iso\\u{2069}"],
    ["back\\slash", "back\\slash"],
  ])("%j is shown as %j", (text, shown) => {
    expect(escapeControl(text)).toBe(shown);
  });

  test("2000 arbitrary strings: nothing a terminal obeys survives, and printable text is kept as it was", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 64 }), (text) => {
        const shown = escapeControl(text);
        expect(OBEYED.test(shown)).toBe(false);
        if (!OBEYED.test(text)) expect(shown).toBe(text);
      }),
      { numRuns: 2000, seed: 25 },
    );
  });
});

describe("cut and quote", () => {
  test("short text is kept whole; long text is cut to the most, saying how long it was", () => {
    expect(cut("abc")).toBe("abc");
    const long = "x".repeat(40_000_000);
    const c = cut(long);
    expect(c.length).toBeLessThan(QUOTE_MAX + 40);
    expect(c).toBe(`${"x".repeat(QUOTE_MAX)}… (40000000 characters)`);
  });

  test("a cut never splits a surrogate pair", () => {
    const text = `${"a".repeat(QUOTE_MAX - 1)}😀😀`;
    const c = cut(text);
    expect(c.startsWith(`${"a".repeat(QUOTE_MAX - 1)}…`)).toBe(true);
    expect(c).not.toContain("\ud83d…");
  });

  test("quote is in double quotes, cut and escaped", () => {
    expect(quote("hi\u0007")).toBe('"hi\\x07"');
    expect(quote("y".repeat(1000)).length).toBeLessThan(QUOTE_MAX + 40);
  });
});
