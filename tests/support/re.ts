// Long regular expressions in pieces: each piece a regex of its own, joined into one, so no test line runs past 120
// columns and every piece keeps its escapes as written.

/** re joins regular expressions (their sources, in order) into one, with the flags of none. */
export function re(...parts: RegExp[]): RegExp {
  return new RegExp(parts.map((p) => p.source).join(""));
}
