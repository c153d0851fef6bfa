// Parses argv with cac while keeping every word the user typed exactly as typed.
//
// cac's parser (mri) reads number-like words as numbers ("007" → 7, "0x10" → 16, "" → 0, " 5 " → 5),
// in option values and, after a flag, in operands too; and a flag swallows a following "true" or
// "false" as its own value. So each operand and each option value is hidden behind a placeholder
// that mri cannot read as anything but a string, and put back once cac has parsed.
import type { CAC, Command } from "cac";

/** A placeholder is this character and an index: never number-like, never "true", never an option. */
const MARK = "\u0000";

type Parsed = ReturnType<CAC["parse"]>;

/**
 * parseArgv is cac's parse (without running the command) on argv as a process gives it: the words
 * come back as typed. An option that takes a value takes the next word whatever it is (`--port -1`,
 * `--send ''`), as getopt does; `--name=value` is the same as `--name value`.
 */
export function parseArgv(cli: CAC, argv: readonly string[]): Parsed {
  const words = argv.slice(2);
  const kept: string[] = [];
  const hide = (word: string) => `${MARK}${kept.push(word) - 1}`;
  const takesValue = valueOptions(cli, commandOf(cli, words));
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === "--") {
      // cac hands the words after "--" over untouched.
      out.push(...words.slice(i));
      break;
    }
    if (!isOption(word)) {
      // The command's own name must stay visible for cac to match it.
      out.push(out.length === 0 && cli.commands.some((c) => c.isMatched(word)) ? word : hide(word));
      continue;
    }
    const eq = word.indexOf("=");
    const name = optionName(eq < 0 ? word : word.slice(0, eq));
    if (!takesValue.has(name)) out.push(word);
    else if (eq >= 0) out.push(word.slice(0, eq), hide(word.slice(eq + 1)));
    else if (i + 1 < words.length) out.push(word, hide(words[++i]!));
    else out.push(word);
  }
  const parsed = cli.parse([...argv.slice(0, 2), ...out], { run: false });
  const restore = (value: unknown): unknown => {
    if (typeof value === "string" && value.startsWith(MARK)) return kept[Number(value.slice(1))];
    return Array.isArray(value) ? value.map(restore) : value;
  };
  // cac keeps these very objects and hands them to the command: mend them in place.
  const args = parsed.args as string[];
  for (let i = 0; i < args.length; i++) args[i] = restore(args[i]) as string;
  for (const key of Object.keys(parsed.options)) parsed.options[key] = restore(parsed.options[key]);
  return parsed;
}

function isOption(word: string): boolean {
  return word.length > 1 && word.startsWith("-");
}

/** optionName is the name cac files an option under: `--max-pending` → maxPending, `-V` → V. */
function optionName(word: string): string {
  return word.replace(/^--?/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * commandOf finds the command the words name: the first word that is not an option (cac's global options take no
 * value).
 */
function commandOf(cli: CAC, words: readonly string[]): Command | undefined {
  const first = words.find((w) => !isOption(w));
  return first === undefined || first === "--" ? undefined : cli.commands.find((c) => c.isMatched(first));
}

/** valueOptions names every option of the command (and the global ones) that takes a value. */
function valueOptions(cli: CAC, command: Command | undefined): Set<string> {
  const options = [...cli.globalCommand.options, ...(command?.options ?? [])];
  return new Set(options.filter((o) => !o.isBoolean).flatMap((o) => o.names));
}
