// Parses argv with cac while keeping every word the user typed exactly as typed.
//
// cac's parser (mri) reads number-like words as numbers ("007" → 7, "0x10" → 16, "" → 0, " 5 " → 5),
// in option values and, after a flag, in operands too; and a flag swallows a following "true" or
// "false" as its own value. So each operand and each option value is hidden behind a placeholder
// that mri cannot read as anything but a string, and put back once cac has parsed.
import type { CAC, Command } from "cac";
import { UsageError } from "../errors.ts";
import { quote } from "../text/shown.ts";
import { suggest } from "../text/suggest.ts";
import { letterElsewhere } from "./letters.ts";

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
 *
 * Letters bundle as getopt bundles them: `-zv` is `-z -v`, and `-w2` is `-w 2`. An option the command does not have
 * is a usage error that names the nearest one it has (`--expct`: did you mean --expect?).
 */
export function parseArgv(cli: CAC, argv: readonly string[]): Parsed {
  const words = argv.slice(2);
  const kept: unknown[] = [];
  const hide = (word: string | true) => `${MARK}${kept.push(word) - 1}`;
  const command = commandOf(cli, words);
  const kinds = optionKinds(cli, command);
  let wrongFlag: string | undefined;
  let unknown: string | undefined;
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const bundle = isOption(words[i]!) ? unbundle(words[i]!, kinds) : undefined;
    if (bundle) words.splice(i, 1, ...bundle);
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
    // One dash is one letter: `-udp` is no spelling of --udp (mri would read -u -d -p).
    const kind = word.startsWith("--") || name.length === 1 ? kinds.get(name) : undefined;
    // `--no-json` is cac's way to say `--json` is off: known wherever --json is.
    const negated = /^no[A-Z]/.test(name) && kinds.get(name.charAt(2).toLowerCase() + name.slice(3)) === "flag";
    if (kind === undefined && !negated) unknown ??= eq < 0 ? word : word.slice(0, eq);
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
  // Under --help, cac has printed the help: that is the answer, as it was before any option was looked at.
  if (unknown !== undefined && !parsed.options.help) throw new UsageError(unknownOption(cli, command, unknown));
  if (wrongFlag) throw new UsageError(wrongFlag);
  return parsed;
}

/**
 * unbundle is a word of letters as getopt reads it (`-zv` → `-z -v`, `-w2` → `-w 2`), when every letter up to one that
 * takes a value is an option of the command; otherwise undefined, and the word stays one option.
 */
function unbundle(word: string, kinds: Map<string, "flag" | "any" | RegExp>): string[] | undefined {
  if (word.startsWith("--") || word.length < 3 || word.includes("=") || kinds.has(optionName(word))) return undefined;
  const out: string[] = [];
  for (let i = 1; i < word.length; i++) {
    const kind = kinds.get(word[i]!);
    if (kind === undefined || !/[a-zA-Z]/.test(word[i]!)) return undefined;
    out.push(`-${word[i]}`);
    // The rest of the word is the value (`-w2`); none left, and the next word is (`-uw 2`).
    if (kind !== "flag") return i + 1 < word.length ? [...out, word.slice(i + 1)] : out;
  }
  return out;
}

/**
 * unknownOption is the error for an option the command does not have, with the nearest it has: the long option a
 * mistyped name is near (`--expct`, `-udp`), or the commands a netcat letter belongs to.
 */
function unknownOption(cli: CAC, command: Command | undefined, word: string): string {
  const longs = [...cli.globalCommand.options, ...(command?.options ?? [])].flatMap((o) =>
    o.rawName
      .split(/[ ,]+/)
      .filter((n) => n.startsWith("--"))
      .map((n) => n.slice(2)),
  );
  const bare = word.replace(/^--?/, "");
  const near = longs.includes(bare) ? bare : bare.length > 1 ? suggest(bare, longs) : undefined;
  const hint = near !== undefined ? `did you mean --${near}?` : letterElsewhere(command?.name, bare);
  const help = `see upcat${command ? ` ${command.name}` : ""} --help`;
  const said = hint === undefined ? "" : hint.endsWith("?") ? `${hint} ` : `${hint}; `;
  return `unknown option \`${word}\` (${said}${help})`;
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
