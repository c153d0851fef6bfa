// Reads the escapes ops engineers type in a probe: \r \n \t \0 \\ \xHH, as printf and check_tcp take them.
import { UsageError } from "../errors.ts";
import { quote } from "./shown.ts";

const SIMPLE: Record<string, number> = { r: 13, n: 10, t: 9, "0": 0, "\\": 92, a: 7, e: 27 };

/** readEscapes returns the bytes of `text` (UTF-8) with backslash escapes replaced. */
export function readEscapes(text: string, option: string): Uint8Array {
  const out: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== "\\") {
      // Whole code points, so characters outside the BMP stay one character.
      const cp = text.codePointAt(i)!;
      out.push(...encoder.encode(String.fromCodePoint(cp)));
      if (cp > 0xffff) i++;
      continue;
    }
    const next = text[i + 1];
    if (next === undefined)
      throw new UsageError(`invalid ${option}: ${quote(text)} ends in a lone backslash (write \\\\ for one)`);
    if (next in SIMPLE) {
      out.push(SIMPLE[next]!);
      i++;
    } else if (next === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      out.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      throw new UsageError(
        `invalid ${option}: unknown escape "\\${next}" in ${quote(text)} (known: \\r \\n \\t \\0 \\\\ \\xHH)`,
      );
    }
  }
  return Uint8Array.from(out);
}
