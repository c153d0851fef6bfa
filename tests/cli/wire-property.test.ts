// Property: any text a user passes (a message, --send, --expect, --match, a file name), number-like or
// not, reaches the wire or the file system byte for byte, whatever options stand before it. The bytes
// are read back from a peer written in Python (tests/peers/recorder.py), not from upcat.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { looksLikeTarget } from "../../src/transport/target.ts";
import { startRecorder, type Recorder } from "../peers/recorder.ts";
import { fromSource, run } from "../support/run.ts";
import { NUMBER_LIKE } from "./trust-scenarios.ts";

/** words: arbitrary Unicode, and the number-like strings a parser is tempted to read as numbers. */
const words = fc
  .oneof(
    fc.string({ unit: "grapheme", maxLength: 16 }),
    fc.string({ unit: "binary", maxLength: 16 }),
    fc.constantFrom(...NUMBER_LIKE),
    fc.integer().map(String),
    fc.double().map(String),
    fc.nat().map((n) => `0${n}`),
    fc.nat().map((n) => `0x${n.toString(16)}`),
    fc.integer().map((n) => ` ${n} `),
    fc.nat().map((n) => `${n}e${n % 9}`),
  )
  // argv carries C strings of valid UTF-8: no NUL, no lone surrogate can be passed to a process.
  .filter((s) => !s.includes("\0") && s.isWellFormed());

const RUNS = 25;
const encode = (s: string) => new TextEncoder().encode(s);
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe("every text argument reaches the wire as typed", () => {
  let recorder: Recorder;
  beforeAll(async () => {
    recorder = await startRecorder();
  });
  afterAll(() => recorder?.stop());

  test("send MESSAGE over TCP and UDP, after options and after --", async () => {
    await fc.assert(
      fc.asyncProperty(words, fc.constantFrom("--tcp", "--udp"), fc.boolean(), async (word, flag, dashes) => {
        // A word that starts with "-" or looks like a target can only be sent after --.
        const plain = !dashes && !word.startsWith("-") && !looksLikeTarget(word);
        const args = [
          "send",
          flag,
          "--timeout",
          "2s",
          `127.0.0.1:${recorder.port}`,
          ...(plain ? [word] : ["--", word]),
        ];
        const r = await run(fromSource, args);
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
        expect(await recorder.next()).toEqual({ transport: flag === "--udp" ? "udp" : "tcp", bytes: encode(word) });
      }),
      { numRuns: RUNS },
    );
  }, 60_000);

  test("check --send WORD --expect WORD --match WORD (as a literal regex), TCP and UDP", async () => {
    await fc.assert(
      // --send and --expect read backslash escapes (tests/check/escapes.test.ts): plain text here.
      fc.asyncProperty(
        words.filter((w) => !w.includes("\\")),
        fc.constantFrom("tcp", "udp"),
        async (word, transport) => {
          const target = `${transport}://127.0.0.1:${recorder.port}`;
          const r = await run(fromSource, [
            "check",
            "--json",
            "--timeout",
            "2s",
            "--send",
            word,
            "--expect",
            word,
            "--match",
            escapeRegex(word),
            target,
          ]);
          expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
          // An empty --expect asks for no reply, and none is read.
          expect(JSON.parse(r.stdout)).toMatchObject({
            state: "open",
            reply: word === "" && transport === "tcp" ? null : word,
          });
          expect(await recorder.next()).toEqual({ transport, bytes: encode(word) });
        },
      ),
      // Found by this property: an empty --expect waited for a reply that never came; a CRLF in the pattern never
      // matched.
      {
        numRuns: RUNS,
        examples: [
          ["", "tcp"],
          ["", "udp"],
          ["a\r\nb", "tcp"],
          ["007", "udp"],
        ],
      },
    );
  }, 60_000);

  test("check --file NAME opens the file of that name, whatever the name", async () => {
    const dir = mkdtempSync(join(tmpdir(), "upcat-names-"));
    try {
      await fc.assert(
        fc.asyncProperty(
          words.filter((w) => w !== "" && w !== "." && w !== ".." && !w.includes("/") && w !== "-"),
          async (name) => {
            writeFileSync(join(dir, name), `127.0.0.1:${recorder.port}\n`);
            try {
              const r = await run(fromSource, ["check", "--quiet", "--file", name], { cwd: dir });
              expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
              expect(await recorder.next()).toEqual({ transport: "tcp", bytes: new Uint8Array(0) });
            } finally {
              rmSync(join(dir, name), { force: true });
            }
          },
        ),
        { numRuns: RUNS },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
