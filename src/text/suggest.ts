// "Did you mean …?": the nearest known word to a mistyped one, as git, cargo and cac's peers suggest it.

/** MAX_DISTANCE is the most edits a suggestion may be away: further than that, a guess misleads more than it helps. */
const MAX_DISTANCE = 2;

/**
 * distance is the optimal string alignment distance (Damerau–Levenshtein without reuse): the fewest insertions,
 * deletions, substitutions and swaps of two neighbours that make a into b.
 */
export function distance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * suggest is the known word nearest to `word`, at most two edits away and fewer edits than the word has letters (so a
 * one-letter typo never "means" another letter), or undefined. Ties go to the word listed first.
 */
export function suggest(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(MAX_DISTANCE, word.length - 1) + 1;
  for (const candidate of known) {
    if (candidate === word) continue;
    const d = distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** didYouMean is the suggestion as words, `did you mean --expect?`, or "" when there is none. */
export function didYouMean(word: string, known: Iterable<string>, prefix = ""): string {
  const near = suggest(word, known);
  return near === undefined ? "" : `did you mean ${prefix}${near}?`;
}
