// Builds the native upcat binary once per test run, and a PATH on which neither node nor bun exists.
import { mkdtempSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "./run.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const OUT = join(ROOT, "dist", "test", process.platform === "win32" ? "upcat.exe" : "upcat");

let built: Promise<string> | undefined;

/** nativeBinary compiles src/main.ts for this machine (once per run) and returns its path. */
export function nativeBinary(): Promise<string> {
  built ??= (async () => {
    mkdirSync(join(ROOT, "dist", "test"), { recursive: true });
    const proc = Bun.spawn(
      [process.execPath, "build", "--compile", "--no-compile-autoload-bunfig", "--no-compile-autoload-dotenv", join(ROOT, "src/main.ts"), "--outfile", OUT],
      { stdout: "pipe", stderr: "pipe", cwd: ROOT },
    );
    const [status, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    if (status !== 0 || !existsSync(OUT)) throw new Error(`bun build --compile failed (${status}): ${stderr}`);
    return OUT;
  })();
  return built;
}

/** emptyPath is a directory with nothing in it: a PATH on which no node and no bun can be found. */
export function emptyPath(): string {
  return mkdtempSync(join(tmpdir(), "upcat-path-"));
}

/** compiled is the Command that runs the native binary with a PATH holding no node and no bun. */
export async function compiled(): Promise<Command> {
  return { argv: [await nativeBinary()], env: { PATH: emptyPath(), HOME: tmpdir() } };
}
