// Reads the HTTP options of `upcat check` exactly as typed: --status codes and ranges, --header lines, --method.
import type { StatusSet } from "../check/http-probe.ts";
import { UsageError } from "../errors.ts";
import { quote } from "../text/shown.ts";

/** parseStatusSet reads --status: codes and ranges such as 200,204,300-399, each from 100 to 599. */
export function parseStatusSet(value: unknown, option = "--status"): StatusSet {
  const text = String(value);
  const ranges: [number, number][] = [];
  for (const item of text.split(",")) {
    const m = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/.exec(item);
    const [low, high] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [NaN, NaN];
    if (!m || low > high)
      throw new UsageError(
        `invalid ${option}: ${quote(text)} ` +
          "(expected HTTP status codes and ranges from 100 to 599, as in 200,204,300-399)",
      );
    ranges.push([low, high]);
  }
  return { text, ranges };
}

// RFC 9110 token characters: a header name or a method is one token.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** parseHeader reads one --header 'Name: value'; the value may be empty, and never holds a line break. */
export function parseHeader(value: unknown, option = "--header"): [string, string] {
  const text = String(value);
  const colon = text.indexOf(":");
  const name = colon < 0 ? "" : text.slice(0, colon);
  const body = colon < 0 ? "" : text.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
  if (!TOKEN.test(name) || /[\r\n\0]/.test(body)) {
    throw new UsageError(
      `invalid ${option}: ${JSON.stringify(text)} (expected 'Name: value', as in 'Authorization: Bearer abc')`,
    );
  }
  return [name, body];
}

/** parseHeaders reads every --header given (cac makes an array of repeats). */
export function parseHeaders(value: unknown): [string, string][] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => parseHeader(v));
}

// fetch refuses these, as browsers do: CONNECT and TRACE are not for a health check.
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/** parseMethod reads --method: one token, sent as typed (GET, HEAD, POST, OPTIONS...). */
export function parseMethod(value: unknown, option = "--method"): string {
  const text = String(value);
  if (!TOKEN.test(text) || FORBIDDEN_METHODS.has(text.toUpperCase())) {
    throw new UsageError(
      `invalid ${option}: ${JSON.stringify(text)} (expected an HTTP method such as GET, HEAD or POST; CONNECT and ` +
        `TRACE are not checks)`,
    );
  }
  return text;
}
