// Every command registered on one cac program, as main.ts registers them: the tests read options from the commands'
// own registrations rather than from a list of their own.
import { type CAC, cac } from "cac";
import { registerBench } from "../../src/cli/bench.ts";
import { registerCheck } from "../../src/cli/check.ts";
import type { Io } from "../../src/cli/io.ts";
import { registerProtocols } from "../../src/cli/protocols.ts";
import { registerRelay } from "../../src/cli/relay.ts";
import { registerSend } from "../../src/cli/send.ts";
import { registerServe } from "../../src/cli/serve.ts";
import { registerUpgrade } from "../../src/cli/upgrade.ts";
import { addLetters } from "../../src/cli/letters.ts";

/** registeredCli is a cac program with every command that takes options registered (nothing runs: no Io is used). */
export function registeredCli(): CAC {
  const cli = cac("upcat");
  const io = {} as Io;
  for (const register of [
    registerServe,
    registerRelay,
    registerSend,
    registerCheck,
    registerProtocols,
    registerBench,
    registerUpgrade,
  ]) {
    register(cli, io);
    addLetters(cli.commands.at(-1)!);
  }
  return cli;
}
