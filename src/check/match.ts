// The test of a reply that --expect, --expect-prefix and --match ask for: bytes it must contain, bytes it must start
// with, a pattern it must match.
import { UsageError } from "../errors.ts";
import { readEscapes } from "../text/escapes.ts";

/**
 * ReplyTest says whether a reply passes; cannotMatch, where it is given, whether a reply so far never will, whatever
 * comes after it (an --expect-prefix it already differs from), so a stream's check need not wait for --timeout.
 */
export type ReplyTest = ((reply: Uint8Array) => boolean) & {
  readonly cannotMatch?: (reply: Uint8Array) => number | undefined;
};

/**
 * matcher builds the test of a reply from --expect (bytes it must contain), --expect-prefix (bytes it must start with)
 * and --match (a regular expression, multiline as grep and check_http -r read it: ^ and $ anchor each line). All
 * compare text: what the user typed is never read as a number.
 */
export function matcher(expect: unknown, match: unknown, expectPrefix?: unknown): ReplyTest | undefined {
  // An empty --expect or --match is in every reply, the empty one too: it asks for nothing.
  const needle =
    expect === undefined || expect === "" ? undefined : Buffer.from(readEscapes(String(expect), "--expect"));
  const prefix =
    expectPrefix === undefined || expectPrefix === ""
      ? undefined
      : Buffer.from(readEscapes(String(expectPrefix), "--expect-prefix"));
  let regex: RegExp | undefined;
  if (match !== undefined && match !== "") {
    try {
      regex = new RegExp(String(match), "m");
    } catch (err) {
      throw new UsageError(`invalid --match: ${(err as Error).message}`);
    }
  }
  if (!needle && !regex && !prefix) return undefined;
  const decoder = new TextDecoder();
  // Protocol lines end in CRLF (SMTP, SSH, redis): $ must anchor before the \r too, as it does for
  // people reading them; a pattern that names the \r itself still matches the reply as it came.
  const matches = (text: string) =>
    regex!.test(text) || (text.includes("\r\n") && regex!.test(text.replaceAll("\r\n", "\n")));
  const test = (reply: Uint8Array) =>
    (!prefix || (reply.length >= prefix.length && firstDifference(reply, prefix) === undefined)) &&
    (!needle || Buffer.from(reply.buffer, reply.byteOffset, reply.length).includes(needle)) &&
    (!regex || matches(decoder.decode(reply)));
  if (!prefix) return test;
  return Object.assign(test, { cannotMatch: (reply: Uint8Array) => firstDifference(reply, prefix) });
}

/** firstDifference is the index of the first byte where reply leaves prefix, or undefined while it follows it. */
function firstDifference(reply: Uint8Array, prefix: Uint8Array): number | undefined {
  const n = Math.min(reply.length, prefix.length);
  for (let i = 0; i < n; i++) if (reply[i] !== prefix[i]) return i;
  return undefined;
}
