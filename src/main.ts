#!/usr/bin/env bun
// upcat's single entry point: the cac program. The only place that maps errors to exit statuses.
//
// Its only static import is the version: `upcat --version` is answered before anything else is loaded.
// Every other module, cac and io included, comes by import() below, once the command line asks for more
// (node:tty alone, which io once imported for isatty, cost about as much start-up as all of Bun's own).
import type { CAC } from "cac";
import type { Io } from "./cli/io.ts";
import type { UsageErrorHandler } from "./cli/usage-errors.ts";
import { COMMIT, VERSION } from "./version.ts";

/** versionOnly: the command line is `upcat --version` or `upcat -V`, and nothing else. */
const versionOnly = process.argv.length === 3 && (process.argv[2] === "--version" || process.argv[2] === "-V");
if (versionOnly) {
  // As the program below does it: a reader that has gone (EPIPE) is no failure; any other write error is.
  const status = await Bun.write(Bun.stdout, `upcat ${VERSION} (${COMMIT})\n`).then(
    () => 0,
    (err: { code?: unknown; stack?: string }) => {
      if (err?.code === "EPIPE") return 0;
      console.error(`upcat: internal error: ${err?.stack ?? String(err)}`);
      return 1;
    },
  );
  process.exit(status);
}

const [
  { cac },
  { parseArgv },
  { notUtf8Word },
  { nagiosUsage },
  { processIo },
  { isUsageError },
  { NetError, UsageError },
  { shownMessage },
  { quote },
  { addLetters },
  { didYouMean },
] = await Promise.all([
  import("cac"),
  import("./cli/argv.ts"),
  import("./cli/argv-bytes.ts"),
  import("./cli/check-usage.ts"),
  import("./cli/io.ts"),
  import("./cli/usage-errors.ts"),
  import("./errors.ts"),
  import("./text/message.ts"),
  import("./text/shown.ts"),
  import("./cli/letters.ts"),
  import("./text/suggest.ts"),
]);

type Register = (cli: CAC, io: Io) => unknown;

/**
 * COMMANDS registers each command, in the order --help lists them. A command's module is loaded only
 * when the command line names it (or help, the man page or the completions, which need them all):
 * loading every module costs more start-up than `upcat --version` has to spend.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import("./cli/serve.ts")).registerServe,
  relay: async () => (await import("./cli/relay.ts")).registerRelay,
  send: async () => (await import("./cli/send.ts")).registerSend,
  check: async () => (await import("./cli/check.ts")).registerCheck,
  exporter: async () => (await import("./cli/exporter.ts")).registerExporter,
  protocols: async () => (await import("./cli/protocols.ts")).registerProtocols,
  bench: async () => (await import("./cli/bench.ts")).registerBench,
  upgrade: async () => (await import("./cli/upgrade.ts")).registerUpgrade,
  manpage: async () => (await import("./cli/manpage.ts")).registerManpage,
  // Last: completions are read from every command registered before it.
  completion: async () => (await import("./cli/completion.ts")).registerCompletion,
};
const ALL = Object.keys(COMMANDS);
/** READS_ALL are the commands made from every other command's registration: the man page and the completions. */
const READS_ALL = new Set(["manpage", "completion"]);

/** commandsFor picks the commands the words ask for: one, or every one (help, a typo, the man page, completions). */
function commandsFor(words: readonly string[]): readonly string[] {
  const first = words.find((w) => !w.startsWith("-") || w === "-");
  if (first === undefined) return words.every((w) => w === "-V" || w === "--version") && words.length > 0 ? [] : ALL;
  return first in COMMANDS && !READS_ALL.has(first) ? [first] : ALL;
}

// The reader of stdout has gone (`| head`): it had what it wanted, so stop at once, quietly, with 0,
// as a pipeline under `set -o pipefail` needs.
const io = processIo(() => process.exit(0));
const cli = cac("upcat");
const wanted = new Set(commandsFor(process.argv.slice(2)));
for (const name of ALL) {
  if (!wanted.has(name)) continue;
  (await COMMANDS[name]!())(cli, io);
  // Before the next registration: completion reads every command as it registers.
  addLetters(cli.commands.at(-1)!);
}
/** usageErrors are the commands that answer a wrong command line their own way. */
const usageErrors: Record<string, UsageErrorHandler> = { check: nagiosUsage(io) };
// Our own flag, not cac's: its version line would name Node's version, which users do not run. Not
// for `upgrade`, whose --version names the release to install, as `deno upgrade --version` does.
if (!(wanted.size === 1 && wanted.has("upgrade"))) cli.option("-V, --version", "Print the version and exit");
cli.help();
cli.example("  upcat serve &                 # uppercase server on udp and tcp port 12000");
cli.example("  upcat send hello              # prints HELLO");
cli.example("  upcat send udp://127.0.0.1:12000 'hello again'");
cli.example("  upcat check db:5432 127.0.0.1:8000-8010 --json   # exit 0 only if every port is open");

/** run parses argv, runs the command and returns the exit status: 0 ok, 1 failed, 2 wrong command line. */
async function run(argv: string[]): Promise<number> {
  try {
    const parsed = parseArgv(cli, argv);
    const notUtf8 = notUtf8Word(argv.slice(2));
    if (notUtf8 !== undefined)
      throw new UsageError(
        `word ${notUtf8.index + 1} of the command line is not valid UTF-8 (${quote(notUtf8.shown)}): ` +
          "upcat sends what was typed byte for byte, so pipe such bytes on stdin (send --binary) or write them as " +
          "\\xHH (check --send)",
      );
    if (parsed.options.help) return 0;
    if (parsed.options.version === true) {
      io.out(`upcat ${VERSION} (${COMMIT})\n`);
      await io.flush();
      return 0;
    }
    if (!cli.matchedCommand) {
      // Options come first: `upcat -v` is a wrong option, not a missing command.
      cli.globalCommand.checkUnknownOptions();
      const word = parsed.args[0];
      if (word === "help") return help(parsed.args[1]);
      if (word === undefined) throw new UsageError("missing command (try upcat --help)");
      throw new UsageError(`unknown command ${quote(word)} (${commandHint(word)}try upcat --help)`);
    }
    const status = await cli.runMatchedCommand();
    return typeof status === "number" ? status : 0;
  } catch (err) {
    const own = isUsageError(err) ? usageErrors[cli.matchedCommandName ?? ""] : undefined;
    return (await own?.(err as Error, cli.options)) ?? report(err);
  }
}

/** help is `upcat help [COMMAND]`, as git and go say it: the same text as --help. */
function help(name: string | undefined): number {
  if (name === undefined) {
    cli.outputHelp();
    return 0;
  }
  const command = cli.commands.find((c) => c.isMatched(name));
  if (!command) throw new UsageError(`unknown command ${quote(name)} (${commandHint(name)}try upcat --help)`);
  cli.parse([...process.argv.slice(0, 2), name, "--help"], { run: false });
  return 0;
}

/** commandHint is the command a mistyped one is near (`chek`: did you mean check?), as the words before "try". */
function commandHint(word: string): string {
  const near = didYouMean(word, [...ALL, "help"]);
  return near === "" ? "" : `${near} `;
}

function report(err: unknown): number {
  const c = io.errColor;
  const say = (message: string) => io.err(`${c.red("upcat:")} ${shownMessage(message)}`);
  if (err instanceof NetError) {
    say(err.message);
    return 1;
  }
  if (err instanceof UsageError) {
    say(err.message);
    return 2;
  }
  if (err instanceof Error && err.name === "CACError") {
    const command = cli.matchedCommandName ? ` ${cli.matchedCommandName}` : "";
    say(`${err.message.charAt(0).toLowerCase()}${err.message.slice(1)} (see upcat${command} --help)`);
    return 2;
  }
  say(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 1;
}

process.exitCode = await run(process.argv);
// Bun cannot cancel a connect that timed out: without this the kernel's SYN retries (about two minutes) keep the
// process alive.
await io.flush();
process.exit();
