// Properties of a reply as reports show it (issue 28, item 4), over arbitrary bytes: --json's reply_base64
// round-trips, reply is a JSON string that reads back to the bytes and holds U+FFFD only where the bytes were the
// UTF-8 of U+FFFD, and a text cut never splits an escape.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { CheckResult } from "../../src/check/result.ts";
import { jsonRecord } from "../../src/check/report/json.ts";
import { clipReply, replyText } from "../../src/check/report/target.ts";
import { resultLine } from "../../src/check/report/text.ts";
import { escapedBytes, schemaErrors } from "./json-records.ts";

const encoder = new TextEncoder();
const FFFD = [0xef, 0xbf, 0xbd];

/** bytes are arbitrary: random ones, text's UTF-8, and text's UTF-8 with stray bytes (and U+FFFD's own) spliced in. */
const bytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 60 }).map((s) => encoder.encode(s)),
  fc
    .array(
      fc.oneof(
        fc.string({ unit: "binary", maxLength: 8 }).map((s) => [...encoder.encode(s)]),
        fc.integer({ min: 0x80, max: 0xff }).map((b) => [b]),
        fc.constant([0x5c]),
        fc.constant(FFFD),
        // A sequence cut short, an overlong form, a surrogate, past U+10FFFF.
        fc.constantFrom([0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]),
      ),
      { maxLength: 30 },
    )
    .map((parts) => Uint8Array.from(parts.flat())),
);

const result = (reply: Uint8Array): CheckResult => ({
  target: { transport: "tcp", host: "db", port: 5432 },
  state: "mismatch",
  ok: false,
  address: "127.0.0.1",
  latencyMs: 1,
  attempts: 1,
  reply,
  error: "the reply did not match",
});

/** holdsFffd says whether the bytes hold the UTF-8 of U+FFFD. */
function holdsFffd(b: Uint8Array): boolean {
  for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0xef && b[i + 1] === 0xbf && b[i + 2] === 0xbd) return true;
  return false;
}

describe("a reply in --json", () => {
  test("property: lossless, a valid JSON string, U+FFFD only from U+FFFD's bytes (seeded, 2000 runs)", () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const line = JSON.stringify(jsonRecord(result(b), { index: 0 }));
        const record = JSON.parse(line);
        expect(schemaErrors(record)).toBe("");
        expect(typeof record.reply).toBe("string");
        // reply_base64 round-trips; without it, reply is the text and its UTF-8 is the bytes.
        const back =
          record.reply_base64 === undefined ? encoder.encode(record.reply) : Buffer.from(record.reply_base64, "base64");
        expect([...back]).toEqual([...b]);
        // The escapes read one way: reply alone reads back to the bytes.
        if (record.reply_base64 !== undefined) expect([...escapedBytes(record.reply)]).toEqual([...b]);
        // No lone surrogate: the text is well-formed Unicode, the same after a round trip through UTF-8.
        expect(new TextDecoder().decode(encoder.encode(record.reply))).toBe(record.reply);
        if (!holdsFffd(b)) expect(record.reply).not.toContain("\ufffd");
      }),
      { seed: 28, numRuns: 2000 },
    );
  });

  test("UTF-8 is the text itself, with no reply_base64; anything else is escaped", () => {
    const record = (b: number[]) => jsonRecord(result(Uint8Array.from(b)), { index: 0 });
    expect(record([...encoder.encode("a\\b \u20ac \ufffd")])).toMatchObject({ reply: "a\\b \u20ac \ufffd" });
    expect(record([...encoder.encode("a\\b")])).not.toHaveProperty("reply_base64");
    expect(record([0x61, 0xff, 0x5c, 0xe2, 0x82, 0xac, 0xe2, 0x82])).toMatchObject({
      reply: "a\\xff\\\\\u20ac\\xe2\\x82",
      reply_base64: "Yf9c4oKs4oI=",
    });
  });
});

describe("a reply in text", () => {
  test("property: a cut never splits an escape or a surrogate pair (seeded, 1000 runs)", () => {
    fc.assert(
      fc.property(bytes, fc.integer({ min: 0, max: 80 }), (b, max) => {
        const shown = replyText(b);
        const { text, clipped } = clipReply(shown, max);
        expect(text.length).toBeLessThanOrEqual(max);
        expect(shown.text.startsWith(text)).toBe(true);
        expect(clipped).toBe(text.length < shown.text.length);
        expect(/[\ud800-\udbff]$/.test(text)).toBe(false);
        if (!shown.exact) expect([...escapedBytes(text)]).toEqual([...b.subarray(0, [...escapedBytes(text)].length)]);
      }),
      { seed: 28, numRuns: 1000 },
    );
  });

  test("a line for people shows \\xNN, never U+FFFD, for bytes that are not UTF-8", () => {
    const plain = { outColor: { green: String, yellow: String, red: String, dim: String } };
    const line = resultLine(result(Uint8Array.from([0x4f, 0x4b, 0xff, 0xfe, 0x0a])), plain, 20);
    expect(line).toContain('"OK\\xff\\xfe\\n"');
    expect(line).not.toContain("\ufffd");
  });
});
