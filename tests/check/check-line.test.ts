// A check line (a --file line, or a quoted argument): targets, then that target's own options, with sh-like quotes.
import { describe, expect, test } from "bun:test";
import { lineWords, parseCheckLine } from "../../src/check/check-line.ts";
import { UsageError } from "../../src/errors.ts";

describe("lineWords", () => {
  test.each([
    ["db:5432   # primary", ["db:5432"]],
    ["  cache:6379 cache:6380\r", ["cache:6379", "cache:6380"]],
    ["# only a comment", []],
    ["", []],
    // Backslashes are kept for --send's own escapes, quoted or not.
    ["r:1 --send 'PING\\r\\n' --expect +PONG", ["r:1", "--send", "PING\\r\\n", "--expect", "+PONG"]],
    ["r:1 --send PING\\r\\n", ["r:1", "--send", "PING\\r\\n"]],
    [`r:1 --expect "say \\"hi\\"" --match 'a b'`, ["r:1", "--expect", 'say "hi"', "--match", "a b"]],
    [`r:1 --expect "a\\\\b"`, ["r:1", "--expect", "a\\\\b"]],
    // A # inside a word or quotes is text, not a comment.
    ["r:1 --expect '#' --match x#y", ["r:1", "--expect", "#", "--match", "x#y"]],
    ["r:1 --expect ''", ["r:1", "--expect", ""]],
    ["r:1 --expect 007", ["r:1", "--expect", "007"]],
  ])("a check line reads as its target and options: %j", (line, words) => {
    expect(lineWords(line)).toEqual(words);
  });

  test.each([["r:1 --expect 'x"], ['r:1 --expect "x']])("%j: an unterminated quote is a usage error", (line) => {
    expect(() => lineWords(line)).toThrow(/unterminated/);
  });
});

describe("parseCheckLine", () => {
  test("targets first, then options in cac's camelCase keys; flags are true; values stay strings", () => {
    expect(parseCheckLine("web:443 web2:443 --tls --cert-days 14,7 --warning 0.000001 --udp-silent-ok")).toEqual({
      specs: ["web:443", "web2:443"],
      options: { tls: true, certDays: "14,7", warning: "0.000001", udpSilentOk: true },
    });
    expect(parseCheckLine("r:1 --send=PING --expect=+PONG")).toEqual({
      specs: ["r:1"],
      options: { send: "PING", expect: "+PONG" },
    });
    expect(parseCheckLine("   # nothing")).toBeUndefined();
  });

  test("an HTTP line: --status, --method, --follow, and --header repeated, each adding to the last", () => {
    expect(
      parseCheckLine(
        "https://web/health --status 200,204 --method HEAD --follow --header 'X-A: 1' --header='X-B: 2' --header " +
          "'X-C: 3'",
      ),
    ).toEqual({
      specs: ["https://web/health"],
      options: { status: "200,204", method: "HEAD", follow: true, header: ["X-A: 1", "X-B: 2", "X-C: 3"] },
    });
    expect(parseCheckLine("http://web/ --header 'X-A: 1'")).toEqual({
      specs: ["http://web/"],
      options: { header: "X-A: 1" },
    });
  });

  test.each([
    ["r:1 --json", /--json cannot be given for one target/],
    ["r:1 --wait 5s", /--wait cannot be given for one target/],
    ["r:1 --down", /--down cannot be given for one target/],
    // A typo is no option at all, not one that a line cannot take.
    ["r:1 --expct ok", /^unknown option --expct \(did you mean --expect\?\)$/],
    ["r:1 --expect=ok --tiemout=2s", /^unknown option --tiemout \(did you mean --timeout\?\)$/],
    ["r:1 --bogus", /^unknown option --bogus$/],
    // Only what a line takes is suggested: --jsno is near --json, which a line cannot give.
    ["r:1 --jsno", /^unknown option --jsno$/],
    ["http://w/ --status 200 --status 204", /--status is given twice/],
    ["r:1 --expect", /--expect needs a value/],
    ["r:1 --tls=yes", /--tls takes no value/],
    ["r:1 --expect a --expect b", /--expect is given twice/],
    ["r:1 --expect a r:2", /"r:2" follows the options/],
    ["--expect a", /starts with its TARGET/],
  ])("%j is refused: %s", (line, why) => {
    expect(() => parseCheckLine(line)).toThrow(UsageError);
    expect(() => parseCheckLine(line)).toThrow(why);
  });
});
