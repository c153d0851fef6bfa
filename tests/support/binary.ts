// Builds the native upcat binary once per test run, as a release is built, and a PATH on which neither node nor bun
// exists.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostTarget } from "../../scripts/targets.ts";
import { type Command, engineEnv } from "./run.ts";
import { SCRATCH } from "./scratch.ts";
import { build } from "./build.ts";

/** NATIVE_DIR holds the host's release asset and its SHA256SUMS: what the installer tests serve. */
export const NATIVE_DIR = join(SCRATCH, "native");

let built: Promise<string> | undefined;

/** nativeBinary builds this machine's release binary with scripts/build.ts (once per run) and returns its path. */
export function nativeBinary(): Promise<string> {
  built ??= (async () => {
    const out = join(NATIVE_DIR, hostTarget().asset);
    await build(["--target", "host", "--outdir", NATIVE_DIR]);
    if (!existsSync(out)) throw new Error(`scripts/build.ts --target host made no ${out}`);
    return out;
  })();
  return built;
}

let empty: string | undefined;

/** emptyPath is a directory with nothing in it, made once per run: a PATH on which no node and no bun can be found. */
export function emptyPath(): string {
  empty ??= mkdtempSync(join(tmpdir(), "upcat-path-"));
  return empty;
}

/** compiled is the Command that runs the native binary with a PATH holding no node and no bun. */
export async function compiled(): Promise<Command> {
  return { argv: [await nativeBinary()], env: { PATH: emptyPath(), HOME: tmpdir(), ...engineEnv } };
}
