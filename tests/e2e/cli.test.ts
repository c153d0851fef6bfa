// The command line through the compiled binary, on a PATH with no node and no bun: the same scenarios as from source.
import { expect, test } from "bun:test";
import { cliScenarios } from "../cli/scenarios.ts";
import { compiled } from "../support/binary.ts";

cliScenarios(compiled);

test("the PATH the binary runs with has no node and no bun", async () => {
  const cmd = await compiled();
  for (const dir of cmd.env.PATH!.split(":")) {
    expect(await Bun.file(`${dir}/node`).exists()).toBe(false);
    expect(await Bun.file(`${dir}/bun`).exists()).toBe(false);
  }
});
