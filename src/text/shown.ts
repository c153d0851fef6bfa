// Text from outside (a peer, a server, a file, the command line) made safe to show: no control character reaches a
// terminal raw, and no input is quoted whole into a one-line message.

/**
 * UNSAFE matches what must not reach a terminal as it is: C0 controls, DEL, C1 controls (ESC's 8-bit twin CSI is
 * U+009B), and the bidirectional overrides and isolates that reorder what a reader sees (CVE-2021-42574, "Trojan
 * Source").
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\e" };

/**
 * escapeControl writes every control character of text as an escape (\n, \r, \t, \e, \xHH, \u{HHHH}): what a server
 * or a peer controls is shown, never obeyed by the terminal. Everything else is left as it is.
 */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    const named = NAMED[ch];
    if (named) return named;
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

/** QUOTE_MAX is the most characters of one input a message quotes: enough to recognise it, never a whole file. */
export const QUOTE_MAX = 120;

/**
 * cut shortens text to at most max characters (whole code points), saying how much was left out: a 40 MB line in an
 * error message is 40 MB on a terminal and in a log.
 */
export function cut(text: string, max = QUOTE_MAX): string {
  if (text.length <= max) return text;
  // Never half a surrogate pair.
  const end = /[\ud800-\udbff]/.test(text.charAt(max - 1)) ? max - 1 : max;
  const kept = text.slice(0, end);
  return `${kept}… (${text.length} characters)`;
}

/** quote is input as a message names it: in double quotes, cut, with its control characters escaped. */
export function quote(text: string, max = QUOTE_MAX): string {
  return `"${escapeControl(cut(text, max))}"`;
}
