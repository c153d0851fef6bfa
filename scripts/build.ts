// Builds a release into dist/: every binary (or those named by --target), VERSION, SHA256SUMS and the installers
// (install.sh, install.ps1), and on a full build the man page, the completion scripts, the .deb packages and the
// container image trees. dist/ is then a release folder: served over HTTP, it is a mirror for UPCAT_BASE_URL.
//
//   bun scripts/build.ts                          the whole release
//   bun scripts/build.ts --target host            this machine's binary only, for development
//   bun scripts/build.ts --target linux-arm64 --outdir /tmp/out
//   bun scripts/build.ts --no-minify --no-bytecode   what the start-up measurements compare against
import { parseArgs } from "node:util";
import { copyFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { findTarget, hostTarget, targets, type Target } from "./targets.ts";
import { buildInfo } from "./build-info.ts";
import { writeSums } from "./sums.ts";
import { compile, releaseConfig } from "./compile.ts";
import { DOCS, writeDocs } from "./docs.ts";
import { buildDeb, debName } from "./deb.ts";
import { assembleRootfs } from "./container/rootfs.ts";

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

async function timed(label: string, file: string, work: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await work();
  const mb = (statSync(file).size / 1e6).toFixed(1);
  const s = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${label.padEnd(30)} ${mb.padStart(6)} MB  ${s}s`);
}

async function build(t: Target, outdir: string, common: Record<string, string>): Promise<void> {
  const outfile = join(outdir, t.asset);
  // Each binary knows its own target, so `upcat upgrade` fetches the asset it came from (musl, baseline).
  const define = { ...common, UPCAT_TARGET: JSON.stringify(t.name) };
  await timed(t.asset, outfile, () =>
    compile(
      releaseConfig({
        entry: join(ROOT, "src/main.ts"),
        target: t,
        outfile,
        define,
        minify: !values["no-minify"],
        bytecode: !values["no-bytecode"],
      }),
    ),
  );
}

/** extras are what a full release holds besides the binaries: docs, packages and the image trees. */
async function extras(outdir: string, version: string): Promise<void> {
  await writeDocs(outdir);
  console.log(`docs: ${Object.keys(DOCS).join(", ")}`);
  // The amd64 package holds the baseline binary: Debian's amd64 is every x86-64 CPU, AVX2 or not.
  const debs = [
    { arch: "amd64", binary: "upcat-linux-x64-baseline" },
    { arch: "arm64", binary: "upcat-linux-arm64" },
  ] as const;
  for (const { arch, binary } of debs) {
    await timed(debName(version, arch), join(outdir, debName(version, arch)), () =>
      buildDeb({ binary: join(outdir, binary), docs: outdir, arch, version, outdir }),
    );
  }
  // The image trees: the build context of scripts/container/Dockerfile, one folder per TARGETARCH.
  assembleRootfs(join(outdir, "upcat-linux-x64-baseline"), "amd64", join(outdir, "container/amd64"));
  assembleRootfs(join(outdir, "upcat-linux-arm64"), "arm64", join(outdir, "container/arm64"));
  console.log("container trees: container/amd64, container/arm64");
}

/**
 * INSTALLERS are copied beside the assets as they are, so that a folder this script writes, served as a mirror, has the
 * installer that fetches from it (`curl -fsSL $UPCAT_BASE_URL/install.sh | UPCAT_BASE_URL=... sh`). SHA256SUMS does not
 * cover them: they are what fetches and checks it.
 */
const INSTALLERS = ["install.sh", "install.ps1"] as const;

/** isAsset says what SHA256SUMS covers: every file a user downloads from the release page. */
function isAsset(name: string): boolean {
  return targets.some((t) => t.asset === name) || name in DOCS || /^upcat_.+_(amd64|arm64)\.deb$/.test(name);
}

const outdir = resolve(values.outdir!);
mkdirSync(outdir, { recursive: true });
// Bun.build writes each executable first to a temporary file in the current directory; a build killed
// half-way leaves it there. In outdir that is a stray file among the build's own, not one in the checkout.
process.chdir(outdir);
const info = await buildInfo(ROOT);
const define = {
  UPCAT_VERSION: JSON.stringify(info.version),
  UPCAT_COMMIT: JSON.stringify(info.commit),
};
const started = performance.now();
console.log(`upcat ${info.version} (${info.commit}) -> ${outdir}`);
// One at a time, so the log reads in order; all eleven take about fifteen seconds once Bun's runtimes are cached.
for (const t of chosen()) await build(t, outdir, define);
if (!values.target) await extras(outdir, info.version);
// VERSION is how `upcat upgrade` learns what releases/latest/download holds without GitHub's API.
await Bun.write(join(outdir, "VERSION"), `${info.version}\n`);
for (const name of INSTALLERS) copyFileSync(join(ROOT, "scripts", name), join(outdir, name));
// SHA256SUMS covers every release asset in outdir, so building one target keeps the others' lines.
const assets = readdirSync(outdir).filter(isAsset);
await writeSums(outdir, assets);
console.log(`SHA256SUMS: ${assets.length} assets; all built in ${((performance.now() - started) / 1000).toFixed(1)}s`);
