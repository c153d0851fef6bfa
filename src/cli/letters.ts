// netcat's letters: the short options nc's hands type, each one upcat's long option, in one table.
//
// A letter joins a command's own registration (its help, the man page and the completions show `-u, --udp`), and
// means the same long option wherever it exists: -u is always --udp, never something else on another command.
import type { Command } from "cac";

/** Letter is one short option: the long option it stands for, on the commands that have that option. */
interface Letter {
  short: string;
  long: string;
  commands: readonly string[];
}

/** LETTERS are the short options, each beside the long option it is. */
const LETTERS: readonly Letter[] = [
  // nc -u.
  { short: "u", long: "udp", commands: ["serve", "send", "check", "bench"] },
  // nc -w SECS: --timeout reads a bare number as seconds, so `-w 2` is nc's two seconds and `-w 500ms` works too.
  { short: "w", long: "timeout", commands: ["send", "check", "bench"] },
  // Quiet, not nc's -q SECS (linger after stdin's EOF): send ends once stdin has and the replies are in.
  { short: "q", long: "quiet", commands: ["serve", "relay", "check"] },
  // nc -v: send's --verbose is its own; check's is what check prints anyway.
  { short: "v", long: "verbose", commands: ["send", "check"] },
  // nc -z: what check does.
  { short: "z", long: "zero", commands: ["check"] },
];

/** ADDED are the options that exist for nc's hands alone: a command registers the rest itself. */
const ADDED: Record<string, readonly [flags: string, help: string][]> = {
  check: [
    [
      "--verbose",
      "A line for every target, as check prints anyway (for nc -v hands; --quiet, --json and the rest still win)",
    ],
    [
      "--zero",
      "Connect only, as check does anyway unless --send, --expect, --match, --protocol or a URL asks more (nc -z)",
    ],
  ],
};

/**
 * addLetters gives a command, just registered, its netcat letters: `--udp` becomes `-u, --udp`, and an option of
 * ADDED is registered with its letter. A letter already there (send's -v) is left as it is.
 */
export function addLetters(command: Command): void {
  for (const [flags, help] of ADDED[command.name] ?? []) command.option(flags, help);
  for (const letter of LETTERS) {
    if (!letter.commands.includes(command.name)) continue;
    const at = command.options.findIndex((o) => o.names.includes(letter.long));
    const option = command.options[at];
    if (!option || option.names.includes(letter.short)) continue;
    // A new Option from the new flags, so cac derives its names, aliases and kind as for any other.
    type Built = NonNullable<typeof option>;
    const Option = option.constructor as new (rawName: string, description: string, config: unknown) => Built;
    command.options[at] = new Option(`-${letter.short}, ${option.rawName}`, option.description, option.config);
  }
}

/** letterElsewhere is where a letter a command lacks lives instead, for its unknown-option error, or undefined. */
export function letterElsewhere(command: string | undefined, short: string): string | undefined {
  // `upcat -z host port` and `send -z`: nc -z's port check is upcat check.
  if (short === "z" && command !== "check") return "nc -z is upcat check HOST:PORT";
  const letter = LETTERS.find((l) => l.short === short);
  if (!letter || command === undefined) return undefined;
  return `-${short} is --${letter.long} of ${letter.commands.join(", ")}`;
}
