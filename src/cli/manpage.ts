// `upcat manpage`: the manual page in roff, written from the cac definitions (the build ships it as upcat.1).
import type { CAC, Command } from "cac";
import { STATE_MEANINGS } from "../check/result.ts";
import { VERSION } from "../version.ts";
import type { Io } from "./io.ts";

/** roff escapes text for a man page: a backslash is \e, a minus is \-, and a line may not start with . or '. */
function roff(text: string): string {
  return text
    .replaceAll("\\", "\\e")
    .replaceAll("-", "\\-")
    .split("\n")
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join("\n");
}

function example(e: Command["examples"][number]): string {
  return (typeof e === "function" ? e("upcat") : e).trim();
}

/** option is one option as --help says it, with its default where it has one. */
function option(o: Command["options"][number]): string[] {
  const fallback = (o.config as { default?: unknown }).default;
  const shown = fallback === undefined || fallback === false ? "" : ` (default: ${String(fallback)})`;
  return [".TP", `.B ${roff(o.rawName)}`, roff(`${o.description}${shown}`)];
}

function section(c: Command): string[] {
  const lines = [`.SS "upcat ${roff(c.rawName)}"`, roff(c.description)];
  for (const o of c.options) lines.push(...option(o));
  if (c.examples.length > 0)
    lines.push(".PP", "Examples:", ".nf", ".RS", ...c.examples.map((e) => roff(example(e))), ".RE", ".fi");
  return lines;
}

/** manPage is upcat(1): every command with its options and examples, the exit statuses and the environment. */
export function manPage(cli: CAC, version = VERSION): string {
  const lines = [
    `.TH UPCAT 1 "" "upcat ${roff(version)}" "User Commands"`,
    ".SH NAME",
    "upcat \\- netcat\\-style servers, clients and reachability checks over TCP and UDP",
    ".SH SYNOPSIS",
    ".B upcat",
    ".I command",
    "[options] [arguments]",
    ".SH DESCRIPTION",
    "upcat serves and speaks the textbook's uppercase protocol and the RFC simple services (echo, discard,",
    "chargen, qotd, daytime, time) over TCP and UDP, checks that targets are reachable and answer as",
    "expected, relays with faults on purpose, and measures servers under load.",
    "A TARGET is tcp://host:port, udp://host:port or host:port (TCP); IPv6 is written [::1]:7.",
    ".SH COMMANDS",
    ...cli.commands.flatMap(section),
    ".SH OPTIONS",
    ...cli.globalCommand.options.flatMap(option),
    ".SH EXAMPLES",
    ".nf",
    ".RS",
    // The program's own examples, then each command's first two: each once.
    ...new Set([
      ...cli.globalCommand.examples.map((e) => roff(example(e))),
      ...cli.commands.flatMap((c) => c.examples.slice(0, 2).map((e) => roff(example(e)))),
    ]),
    ".RE",
    ".fi",
    ".SH CHECK STATES",
    "Each check target ends in one state (the state field of a \\-\\-json line, the state label of \\-\\-prometheus):",
    ...Object.entries(STATE_MEANINGS).flatMap(([state, meaning]) => [".TP", `.B ${roff(state)}`, roff(`${meaning}.`)]),
    ".SH EXIT STATUS",
    ".TP",
    "0",
    "Success.",
    ".TP",
    "1",
    "The check or request failed (refused, timed out, no match), or an upgrade step failed.",
    ".TP",
    "2",
    "The command line was wrong.",
    ".TP",
    "3",
    "UNKNOWN, with check \\-\\-nagios.",
    ".TP",
    "100",
    "upgrade \\-\\-check: a newer release exists (as dnf check\\-update says it).",
    ".TP",
    "124",
    "A check \\-\\-wait deadline was missed.",
    ".TP",
    "126, 127",
    "check ... \\-\\- CMD: CMD is not executable (126) or not found (127), as a shell says it.",
    ".TP",
    "CMD's",
    "check ... \\-\\- CMD: every target passed and CMD ran: its status, or 128 + N when signal N killed it.",
    ".SH ENVIRONMENT",
    ".TP",
    ".B NO_COLOR",
    "Never colour the output.",
    ".TP",
    ".B UPCAT_BASE_URL",
    "The folder that holds a release's assets, SHA256SUMS and VERSION, for upgrade (and install.sh): a mirror.",
    ".SH SEE ALSO",
    ".BR nc (1),",
    ".BR socat (1)",
    "",
  ];
  return lines.join("\n");
}

export function registerManpage(cli: CAC, io: Io): void {
  cli
    .command("manpage", "Print the manual page (roff), as the release ships it in upcat.1")
    .example("  upcat manpage > ~/.local/share/man/man1/upcat.1")
    .action(async () => {
      io.out(manPage(cli));
      await io.flush();
      return 0;
    });
}
