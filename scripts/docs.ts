// The man page and the completion scripts a release ships, written by upcat itself from its cac definitions.
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");

/** DOCS names each file and the upcat command that prints it. */
export const DOCS: Record<string, string[]> = {
  "upcat.1": ["manpage"],
  "upcat-completion.bash": ["completion", "bash"],
  "upcat-completion.zsh": ["completion", "zsh"],
  "upcat-completion.fish": ["completion", "fish"],
  "upcat-completion.ps1": ["completion", "powershell"],
};

/** writeDocs runs upcat from source for each file (the same commands and options as the binaries) into outdir. */
export async function writeDocs(outdir: string): Promise<string[]> {
  for (const [name, args] of Object.entries(DOCS)) {
    const r = Bun.spawnSync([process.execPath, join(ROOT, "src/main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
    });
    if (r.exitCode !== 0 || r.stdout.length === 0)
      throw new Error(`upcat ${args.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
    await Bun.write(join(outdir, name), r.stdout);
  }
  return Object.keys(DOCS);
}
