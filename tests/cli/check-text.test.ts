// Property: --send and --expect are text, byte for byte, whatever the string (number-like ones too), on the command
// line and in --file lines.
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromSource, run } from "../support/run.ts";
import { jsonRecord, jsonRecords } from "../check/json-records.ts";

const SAMPLES = 60;
// Number-like words, which a parser that coerces would rewrite: 007 → 7, 0x10 → 16, 1e3 → 1000.
const NUMBER_LIKE = [
  "007",
  "0x10",
  "1e3",
  "0220",
  "220.0",
  "-0",
  "+1",
  "1_000",
  " 5 ",
  "0.50",
  "0b11",
  "0o17",
  "1.",
  ".5",
  "Infinity",
  "NaN",
  "00",
  "1e-7",
];

/** escaped writes text in --send/--expect escapes: backslash and control characters spelled out, the rest as is. */
function escaped(text: string): string {
  return [...text]
    .map((ch) => {
      if (ch === "\\") return "\\\\";
      const code = ch.codePointAt(0)!;
      return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : ch;
    })
    .join("");
}

/** quoted is a word as a --file line takes it: in single quotes, a quote itself as '"'"' (as in sh). */
const quoted = (word: string) => `'${word.replaceAll("'", `'"'"'`)}'`;

let echo: { port: number; stop(closeActive?: boolean): void };
let dir: string;
beforeAll(() => {
  echo = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (sock, chunk) => void sock.write(chunk) } });
  dir = mkdtempSync(join(tmpdir(), "upcat-check-text-"));
});
afterAll(() => {
  echo.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

test(
  `${SAMPLES} strings sent and expected back from an echo server, each on its own --file line: all pass, each ` +
    `reply the bytes sent`,
  async () => {
    const texts = fc.sample(
      fc.oneof(fc.constantFrom(...NUMBER_LIKE), fc.string({ minLength: 1, unit: "binary" }), fc.double().map(String)),
      { numRuns: SAMPLES, seed: 20 },
    );
    const lines = texts.map(
      (t) => `127.0.0.1:${echo.port} --send ${quoted(escaped(t))} --expect ${quoted(escaped(t))}`,
    );
    const file = join(dir, "texts.txt");
    await Bun.write(file, `${lines.join("\n")}\n`);
    const r = await run(fromSource, ["check", "--json", "--timeout", "2s", "--file", file]);
    const records = jsonRecords(r.stdout);
    expect(records.map((o, i) => ({ text: texts[i], state: o.state }))).toEqual(
      texts.map((text) => ({ text, state: "open" })),
    );
    // The reply is shown as text decoded from the bytes: the same text whenever it is valid UTF-8.
    expect(records.map((o) => o.reply)).toEqual(
      texts.map((t) => new TextDecoder().decode(new TextEncoder().encode(t))),
    );
    expect(r.status).toBe(0);
  },
);

test(
  "number-like words are not their numbers: sending one and expecting the number it reads as fails, on the " +
    "command line too",
  async () => {
    // Only where the number's text is not inside the word itself ("007" contains "7").
    const cases = NUMBER_LIKE.map((word) => ({ word, number: String(Number(word)) })).filter(
      ({ word, number }) => !word.includes(number),
    );
    expect(cases.length).toBeGreaterThanOrEqual(6);
    const r = await run(fromSource, [
      "check",
      "--json",
      "--timeout",
      "300ms",
      ...cases.map(({ word, number }) => `127.0.0.1:${echo.port} --send ${quoted(word)} --expect ${quoted(number)}`),
    ]);
    expect(jsonRecords(r.stdout).map((l) => l.state)).toEqual(cases.map(() => "mismatch"));
    expect(r.status).toBe(1);
    for (const { word } of cases.slice(0, 4)) {
      const same = await run(fromSource, [
        "check",
        "--json",
        `127.0.0.1:${echo.port}`,
        "--send",
        word,
        "--expect",
        word,
      ]);
      expect({ word, record: jsonRecord(same.stdout) }).toMatchObject({ word, record: { state: "open", reply: word } });
    }
  },
);
