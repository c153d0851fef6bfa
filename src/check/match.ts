// The test of a reply that --expect and --match ask for: bytes it must contain, a pattern it must match.
import { UsageError } from "../errors.ts";
import { readEscapes } from "../text/escapes.ts";

/**
 * matcher builds the test of a reply from --expect (bytes it must contain) and --match (a regular
 * expression, multiline as grep and check_http -r read it: ^ and $ anchor each line). Both compare
 * text: what the user typed is never read as a number.
 */
export function matcher(expect: unknown, match: unknown): ((reply: Uint8Array) => boolean) | undefined {
  // An empty --expect or --match is in every reply, the empty one too: it asks for nothing.
  const needle =
    expect === undefined || expect === "" ? undefined : Buffer.from(readEscapes(String(expect), "--expect"));
  let regex: RegExp | undefined;
  if (match !== undefined && match !== "") {
    try {
      regex = new RegExp(String(match), "m");
    } catch (err) {
      throw new UsageError(`invalid --match: ${(err as Error).message}`);
    }
  }
  if (!needle && !regex) return undefined;
  const decoder = new TextDecoder();
  // Protocol lines end in CRLF (SMTP, SSH, redis): $ must anchor before the \r too, as it does for
  // people reading them; a pattern that names the \r itself still matches the reply as it came.
  const matches = (text: string) =>
    regex!.test(text) || (text.includes("\r\n") && regex!.test(text.replaceAll("\r\n", "\n")));
  return (reply) =>
    (!needle || Buffer.from(reply.buffer, reply.byteOffset, reply.length).includes(needle)) &&
    (!regex || matches(decoder.decode(reply)));
}
