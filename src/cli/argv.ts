// Parses argv with cac while keeping every word the user typed exactly as typed.
//
// cac's parser (mri) reads number-like words as numbers ("007" → 7, "0x10" → 16, "" → 0, " 5 " → 5),
// in option values and, after a flag, in operands too; and a flag swallows a following "true" or
// "false" as its own value. So each operand and each option value is hidden behind a placeholder
// that mri cannot read as anything but a string, and put back once cac has parsed.
import type { CAC, Command } from "cac";
import { UsageError } from "../errors.ts";
import { quote } from "../text/shown.ts";

/**
 * OptionalValue is the config of an option whose value may be left out (`--name [value]`): `value` says which next
 * words are its value. Any other word is left where it is (an operand, another option), and the bare option arrives
 * as true, as a flag does.
 */
export interface OptionalValue {
  default?: unknown;
  value: RegExp;
}

/** A placeholder is this character and an index: never number-like, never "true", never an option. */
const MARK = "\u0000";

type Parsed = ReturnType<CAC["parse"]>;

/**
 * parseArgv is cac's parse (without running the command) on argv as a process gives it: the words
 * come back as typed. An option that takes a value takes the next word whatever it is (`--port -1`,
 * `--send ''`), as getopt does; `--name=value` is the same as `--name value`. An option whose value may be
 * left out (OptionalValue) takes the next word only when it reads as its value. A flag takes no value: `--json=true` is
 * `--json`, `--json=false` leaves it off, and any other `--json=WORD` is a usage error (mri would make WORD an operand,
 * a number at that, and `send --json=x HOST hi` would send "x HOST hi").
 */
export function parseArgv(cli: CAC, argv: readonly string[]): Parsed {
  const words = argv.slice(2);
  const kept: unknown[] = [];
  const hide = (word: string | true) => `${MARK}${kept.push(word) - 1}`;
  const command = commandOf(cli, words);
  const kinds = optionKinds(cli, command);
  let wrongFlag: string | undefined;
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
    const kind = kinds.get(name);
    const takes = kind === "flag" ? undefined : kind;
    if (kind === "flag" && eq >= 0) {
      const value = word.slice(eq + 1);
      if (value === "false") continue;
      // Taken as the bare flag meanwhile, so a command that answers usage errors its own way (--nagios) still knows.
      out.push(word.slice(0, eq));
      if (value !== "true")
        wrongFlag ??= `${word.slice(0, eq)} takes no value, not ${quote(value)} (write ${word.slice(0, eq)} alone)`;
    } else if (takes === undefined) out.push(word);
    else if (eq >= 0) out.push(word.slice(0, eq), hide(word.slice(eq + 1)));
    else if (i + 1 < words.length && (takes === "any" || takes.test(words[i + 1]!))) out.push(word, hide(words[++i]!));
    // Left bare, mri would take the next word as the value: the placeholder of true stands in its place.
    else if (takes !== "any") out.push(word, hide(true));
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
  if (wrongFlag) throw new UsageError(wrongFlag);
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

/**
 * optionKinds maps every option of the command (and the global ones) to what it takes: nothing (a flag), "any" next
 * word for a value that must be there, or the words its OptionalValue pattern matches.
 */
function optionKinds(cli: CAC, command: Command | undefined): Map<string, "flag" | "any" | RegExp> {
  const options = [...cli.globalCommand.options, ...(command?.options ?? [])];
  const kinds = new Map<string, "flag" | "any" | RegExp>();
  for (const o of options) {
    const optional = o.required === false ? (o.config as Partial<OptionalValue>).value : undefined;
    for (const name of o.names) kinds.set(name, o.isBoolean ? "flag" : (optional ?? "any"));
  }
  return kinds;
}
