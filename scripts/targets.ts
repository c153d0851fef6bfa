// The release targets: one row each, naming the Bun compile target and the asset file a script can guess.
import { readFileSync } from "node:fs";
import { assetName } from "../src/upgrade/target.ts";

/** Target is one release binary: where it runs and what its asset is called. */
export interface Target {
  /** name is what `--target` takes, what the binary embeds as its own target, and what the asset is named after. */
  name: string;
  /** bun is the `bun build --compile --target` value. */
  bun: Bun.Build.CompileTarget;
  os: "linux" | "darwin" | "windows";
  arch: "x64" | "arm64";
  libc?: "glibc" | "musl";
  /** baseline marks an x64 build for CPUs without AVX2 (pre-Haswell, conservative VM CPU models). */
  baseline: boolean;
  /** asset is the file name in dist/ and on the release page. */
  asset: string;
}

function target(os: Target["os"], arch: Target["arch"], libc?: Target["libc"], baseline = false): Target {
  const musl = libc === "musl" ? "-musl" : "";
  const simd = baseline ? "-baseline" : "";
  // The asset says musl before baseline, as Bun's own release assets do (bun-linux-x64-musl-baseline);
  // Bun's compile target puts them the other way round.
  const name = `${os}-${arch}${musl}${simd}`;
  return {
    name,
    bun: `bun-${os}-${arch}${simd}${musl}` as Bun.Build.CompileTarget,
    os,
    arch,
    libc: os === "linux" ? (libc ?? "glibc") : undefined,
    baseline,
    asset: assetName(name),
  };
}

/** targets are every release binary, in the order the build makes them. */
export const targets: readonly Target[] = [
  target("linux", "x64"),
  target("linux", "arm64"),
  target("linux", "x64", "musl"),
  target("linux", "arm64", "musl"),
  target("darwin", "x64"),
  target("darwin", "arm64"),
  target("windows", "x64"),
  // Bun has baseline builds for x64 only: every arm64 CPU it runs on has the features it needs.
  target("linux", "x64", "glibc", true),
  target("linux", "x64", "musl", true),
  target("darwin", "x64", undefined, true),
  target("windows", "x64", undefined, true),
];

/** findTarget returns the target called name, or undefined. */
export function findTarget(name: string): Target | undefined {
  return targets.find((t) => t.name === name);
}

/** hostTarget is the target of the machine running this script: the binary that runs here natively. */
export function hostTarget(): Target {
  const os = process.platform === "win32" ? "windows" : process.platform;
  const arch = process.arch;
  // The C library this very process loaded decides: a glibc system may have musl's loader installed
  // beside its own (Debian's musl package), so /lib/ld-musl-* alone would mislead.
  const musl = os === "linux" && readFileSync("/proc/self/maps", "utf8").includes("/ld-musl-");
  const name = `${os}-${arch}${musl ? "-musl" : ""}`;
  const found = findTarget(name);
  if (!found) throw new Error(`no release target for this machine (${name})`);
  return found;
}
