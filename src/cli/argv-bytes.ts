// Finds the command-line words that are not valid UTF-8: the runtime hands them over with U+FFFD in place of their
// bytes, and what reached the wire would not be what was typed.
/** NotUtf8 is a word that is not valid UTF-8: where it is among the words, and how to show its bytes. */
export interface NotUtf8 {
  index: number;
  /** shown is the word with every byte outside printable ASCII written as \xHH. */
  shown: string;
}

/**
 * notUtf8Word finds the first word whose bytes, as the kernel holds them, are not valid
 * UTF-8; undefined when every word is. It reads /proc/self/cmdline (Linux) and only when a word holds U+FFFD, the one
 * sign of a replaced byte: a word without one needs no check, and a U+FFFD typed as such (EF BF BD) is valid. Where
 * there is no /proc, the words are taken as given.
 */
export function notUtf8Word(words: readonly string[]): NotUtf8 | undefined {
  if (!words.some((w) => w.includes("\uFFFD"))) return undefined;
  let raw: Buffer;
  try {
    // Loaded here: every start-up would otherwise pay for node:fs.
    raw = (require("node:fs") as typeof import("node:fs")).readFileSync("/proc/self/cmdline");
  } catch {
    return undefined;
  }
  const all = splitNul(raw);
  // The kernel's list ends with the words given to the program; what comes before (bun, the script) differs between a
  // compiled binary and a run from source.
  const mine = all.slice(all.length - words.length);
  const strict = new TextDecoder("utf-8", { fatal: true });
  for (let i = 0; i < mine.length; i++) {
    if (!words[i]!.includes("\uFFFD")) continue;
    try {
      strict.decode(mine[i]);
    } catch {
      return {
        index: i,
        shown: [...mine[i]!]
          .map((b) =>
            b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`,
          )
          .join(""),
      };
    }
  }
  return undefined;
}

function splitNul(raw: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let nul = raw.indexOf(0); nul >= 0; nul = raw.indexOf(0, start)) {
    parts.push(raw.subarray(start, nul));
    start = nul + 1;
  }
  if (start < raw.length) parts.push(raw.subarray(start));
  return parts;
}
