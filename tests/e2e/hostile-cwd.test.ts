// A release binary run from a directory holding a hostile bunfig.toml (a preload) and .env: neither has any effect.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { compile, releaseConfig } from "../../scripts/compile.ts";
import { hostTarget } from "../../scripts/targets.ts";
import { compiled } from "../support/binary.ts";
import { run, startServer, type Command } from "../support/run.ts";

let hostile: string;
let clean: string;
let marker: string;
/** probes are the compiled probe programs' directories, about 100 MB each: removed after the tests. */
const probes: string[] = [];

beforeAll(async () => {
  hostile = mkdtempSync(join(tmpdir(), "upcat-hostile-"));
  clean = mkdtempSync(join(tmpdir(), "upcat-clean-"));
  marker = join(hostile, "PRELOAD-RAN");
  // What an attacker who controls the current directory would plant for a Bun program to pick up.
  await Bun.write(join(hostile, "bunfig.toml"), 'preload = ["./preload.js"]\n');
  await Bun.write(
    join(hostile, "preload.js"),
    `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran"); console.log("HOSTILE PRELOAD"); ` +
      `console.error("HOSTILE PRELOAD");\n`,
  );
  await Bun.write(join(hostile, ".env"), "UPCAT_HOSTILE=from-dotenv\n");
});

afterAll(() => {
  rmSync(hostile, { recursive: true, force: true });
  rmSync(clean, { recursive: true, force: true });
  for (const dir of probes) rmSync(dir, { recursive: true, force: true });
});

/** probe compiles a program that prints what it sees of .env, with the release settings or with Bun's defaults. */
async function probe(autoload: boolean): Promise<Command> {
  const dir = mkdtempSync(join(tmpdir(), "upcat-probe-"));
  probes.push(dir);
  const entry = join(dir, "probe.ts");
  // biome-ignore lint/suspicious/noTemplateCurlyInString: source code written to a file, with its own template
  await Bun.write(entry, 'console.log(`UPCAT_HOSTILE=${process.env.UPCAT_HOSTILE ?? "unset"}`);\n');
  const config = releaseConfig({ entry, target: hostTarget(), outfile: join(dir, "probe") });
  if (autoload)
    Object.assign(config.compile as Bun.CompileBuildOptions, { autoloadBunfig: true, autoloadDotenv: true });
  await compile(config);
  return { argv: [join(dir, "probe")], env: { PATH: "/nonexistent" } };
}

describe("the directory is hostile", () => {
  test("a binary built with Bun's default autoload runs its preload and reads its .env", async () => {
    const r = await run(await probe(true), [], { cwd: hostile });
    expect(r.stdout).toBe("HOSTILE PRELOAD\nUPCAT_HOSTILE=from-dotenv\n");
    expect(existsSync(marker)).toBe(true);
    rmSync(marker);
  });

  test("the same program built with the release settings sees neither", async () => {
    const r = await run(await probe(false), [], { cwd: hostile });
    expect(r).toMatchObject({ status: 0, stdout: "UPCAT_HOSTILE=unset\n", stderr: "" });
    expect(existsSync(marker)).toBe(false);
  });
});

describe("upcat from the hostile directory", () => {
  test("--version prints exactly what it prints elsewhere", async () => {
    const cmd = await compiled();
    const there = await run(cmd, ["--version"], { cwd: hostile });
    const here = await run(cmd, ["--version"], { cwd: clean });
    expect(there).toMatchObject({ status: 0, stderr: "" });
    expect(there.stdout).toMatch(
      new RegExp(`^upcat ${pkg.version.replaceAll(".", "\\.")} \\([0-9a-f]{12}(-dirty)?\\)\\n$`),
    );
    expect(there.stdout).toBe(here.stdout);
    expect(existsSync(marker)).toBe(false);
  });

  test.each([
    ["udp", "--udp", (p: number) => `udp://127.0.0.1:${p}`],
    ["tcp", "--tcp", (p: number) => `tcp://127.0.0.1:${p}`],
  ])("serve and send over %s round-trip untouched", async (_name, flag, target) => {
    const cmd = await compiled();
    const server = await startServer(cmd, [flag, "--host", "127.0.0.1", "--port", "0"], { cwd: hostile });
    try {
      expect(server.ready).not.toContain("HOSTILE");
      const r = await run(cmd, ["send", target(server.port), "hostile", "cwd"], { cwd: hostile });
      expect(r).toMatchObject({ status: 0, stdout: "HOSTILE CWD\n", stderr: "" });
    } finally {
      await server.stop();
    }
    expect(await server.rest()).not.toContain("HOSTILE");
    expect(existsSync(marker)).toBe(false);
  });
});
