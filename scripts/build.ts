// Builds the release binaries into dist/ (every target, or those named by --target) and writes dist/SHA256SUMS.
//
//   bun scripts/build.ts                          every target
//   bun scripts/build.ts --target host            this machine's binary only, for development
//   bun scripts/build.ts --target linux-arm64 --outdir /tmp/out
//   bun scripts/build.ts --no-minify --no-bytecode   what the start-up measurements compare against
import { parseArgs } from "node:util";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { findTarget, hostTarget, targets, type Target } from "./targets.ts";
import { buildInfo } from "./build-info.ts";
import { writeSums } from "./sums.ts";
import { compile, releaseConfig } from "./compile.ts";

const ROOT = resolve(import.meta.dir, "..");

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    target: { type: "string", multiple: true },
    outdir: { type: "string", default: join(ROOT, "dist") },
    // Release builds minify and use bytecode (see compile.ts); these flags exist to measure that again.
    "no-minify": { type: "boolean", default: false },
    "no-bytecode": { type: "boolean", default: false },
  },
  strict: true,
});

function chosen(): Target[] {
  if (!values.target) return [...targets];
  return values.target.map((name) => {
    const t = name === "host" ? hostTarget() : findTarget(name);
    if (!t) throw new Error(`unknown target "${name}" (one of: host, ${targets.map((x) => x.name).join(", ")})`);
    return t;
  });
}

async function build(t: Target, outdir: string, define: Record<string, string>): Promise<void> {
  const started = performance.now();
  const outfile = join(outdir, t.asset);
  await compile(
    releaseConfig({ entry: join(ROOT, "src/main.ts"), target: t, outfile, define, minify: !values["no-minify"], bytecode: !values["no-bytecode"] }),
  );
  const mb = (statSync(outfile).size / 1e6).toFixed(1);
  const s = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${t.asset.padEnd(26)} ${mb.padStart(6)} MB  ${s}s`);
}

const outdir = resolve(values.outdir!);
mkdirSync(outdir, { recursive: true });
const info = await buildInfo(ROOT);
const define = {
  UPCAT_VERSION: JSON.stringify(info.version),
  UPCAT_COMMIT: JSON.stringify(info.commit),
};
const started = performance.now();
console.log(`upcat ${info.version} (${info.commit}) -> ${outdir}`);
// One at a time, so the log reads in order; all seven take about ten seconds once Bun's runtimes are cached.
for (const t of chosen()) await build(t, outdir, define);
// SHA256SUMS covers every release asset in outdir, so building one target keeps the others' lines.
const assets = readdirSync(outdir).filter((f) => targets.some((t) => t.asset === f));
await writeSums(outdir, assets);
console.log(`SHA256SUMS: ${assets.length} assets; all built in ${((performance.now() - started) / 1000).toFixed(1)}s`);
