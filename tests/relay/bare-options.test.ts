// How --duplicate and --reorder reach the relay as typed: alone (true) or with the value right after them, without
// taking LISTEN, TARGET or the next option as a value.
import { expect, test } from "bun:test";
import { cac } from "cac";
import { parseArgv } from "../../src/cli/argv.ts";
import type { Io } from "../../src/cli/io.ts";
import { registerRelay } from "../../src/cli/relay.ts";
import { registerServe } from "../../src/cli/serve.ts";

/** parse reads `upcat relay WORDS...` as main does, without running it. */
function parse(words: string[]) {
  const cli = cac("upcat");
  // Registering only reads the definitions: nothing is written or run.
  const io = {} as Io;
  registerServe(cli, io);
  registerRelay(cli, io);
  const parsed = parseArgv(cli, ["bun", "upcat", "relay", ...words]);
  return { args: parsed.args, duplicate: parsed.options.duplicate, reorder: parsed.options.reorder };
}

const ENDS = ["udp://:5353", "udp://10.0.0.1:53"];

test.each([
  [[...ENDS, "--duplicate"], true, undefined],
  [[...ENDS, "--duplicate", "--reorder"], true, true],
  [["--duplicate", ...ENDS, "--reorder", "3"], true, "3"],
  [["--reorder", "--duplicate", "down:100%", ...ENDS], "down:100%", true],
  [[...ENDS, "--duplicate", "5%", "--reorder=up:4"], "5%", "up:4"],
  [["--duplicate", "0.5%", "--duplicate", ...ENDS], ["0.5%", true], undefined],
  // Taken, so that a wrong amount is refused by name instead of landing among the operands.
  [[...ENDS, "--reorder", "1", "--duplicate", "150"], "150", "1"],
  [["--reorder", "up:x", ...ENDS], undefined, "up:x"],
] as const)("case %#: %j", (words, duplicate, reorder) => {
  expect(parse([...words])).toEqual({ args: ENDS, duplicate, reorder } as never);
});

test("LISTEN given as a bare port right after --reorder is read as its value (the documented rule)", () => {
  expect(parse(["--reorder", "8080", "udp://10.0.0.1:53"])).toMatchObject({
    args: ["udp://10.0.0.1:53"],
    reorder: "8080",
  });
});
