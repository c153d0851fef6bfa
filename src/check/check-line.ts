// Reads one check line: TARGET... then options for those targets only, as a --file line or a quoted argument gives
// them.
//
//   redis:6379 --send 'PING\r\n' --expect +PONG
//   127.0.0.1:22 --match '^SSH-2\.0-'
//   web:443 --tls --cert-days 14,7
//
// Words split on blanks; '…' keeps its text as is and "…" takes \" and \\ (as sh does); a word that
// starts with # outside quotes starts a comment. Backslashes are otherwise kept, so the escapes of
// --send and --expect (\r \n \xHH) read the same quoted or not. Values stay strings: the command's
// own option parsers read them, so a line and the command line accept exactly the same values.
import { UsageError } from "../errors.ts";
import { quote } from "../text/shown.ts";
import { didYouMean } from "../text/suggest.ts";
import { CHECK_OPTIONS, keyOf, nameOf, optionNamed, refuseRepeat, takesValue } from "./options.ts";

/** PER_TARGET are the options a line may give, as the options table marks them. */
const PER_TARGET = CHECK_OPTIONS.filter((o) => o.perTarget);

/** CheckLine is what one line asks: its targets, and options in cac's camelCase keys (flags are true). */
export interface CheckLine {
  specs: string[];
  options: Record<string, string | true | string[]>;
}

/** lineWords splits a line into words as sh would, keeping backslash escapes for the option parsers. */
export function lineWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === " " || ch === "\t" || ch === "\r") {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (ch === "#" && word === undefined) {
      break;
    } else if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new UsageError(`unterminated ' quote in ${quote(line)}`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      let text = "";
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === "\\" && (line[j + 1] === '"' || line[j + 1] === "\\")) {
          // \\ stays two characters: --send's own escapes then read it as one backslash.
          text += line[j + 1] === '"' ? '"' : "\\\\";
          j++;
        } else text += line[j];
      }
      if (j >= line.length) throw new UsageError(`unterminated " quote in ${quote(line)}`);
      word = (word ?? "") + text;
      i = j;
    } else {
      word = (word ?? "") + ch;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** parseCheckLine reads TARGET... [--option [value]]...; a bad line throws a UsageError that says what is wrong. */
export function parseCheckLine(line: string): CheckLine | undefined {
  const words = lineWords(line);
  if (words.length === 0) return undefined;
  const specs: string[] = [];
  const options: Record<string, string | true | string[]> = {};
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith("--")) {
      if (Object.keys(options).length > 0)
        throw new UsageError(`${quote(word)} follows the options: put the targets first, then their options`);
      specs.push(word);
      continue;
    }
    const eq = word.indexOf("=");
    const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
    const option = optionNamed(name);
    // A typo is no option at all: say so, rather than that it cannot be given for one target.
    if (!option) {
      const near = didYouMean(name, PER_TARGET.map(nameOf), "--");
      throw new UsageError(`unknown option --${name}${near && ` (${near})`}`);
    }
    if (!option.perTarget) {
      throw new UsageError(
        `--${name} cannot be given for one target (a line takes ${PER_TARGET.map((o) => `--${nameOf(o)}`).join(" ")})`,
      );
    }
    const key = keyOf(option);
    if (key in options) refuseRepeat(key, "line");
    if (!takesValue(option)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      options[key] = true;
      continue;
    }
    const value = eq >= 0 ? word.slice(eq + 1) : words[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    const before = options[key];
    options[key] = before === undefined ? value : [...(Array.isArray(before) ? before : [String(before)]), value];
  }
  if (specs.length === 0) throw new UsageError("a line starts with its TARGET, then its options");
  return { specs, options };
}
