// The whole release from `bun scripts/build.ts`: every binary with the right format, CPU and embedded target, VERSION,
// the docs, the .debs, the image trees, and SHA256SUMS over them.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { DOCS } from "../../scripts/docs.ts";
import { hostTarget, targets } from "../../scripts/targets.ts";
import { readHeader, type Header } from "../support/exe-header.ts";
import { releaseDir } from "../support/release.ts";

const GLIBC_X64 = { format: "ELF64", machine: "x86-64", interp: "/lib64/ld-linux-x86-64.so.2" } as const;
const MUSL_X64 = { format: "ELF64", machine: "x86-64", interp: "/lib/ld-musl-x86_64.so.1" } as const;
const expected: Record<string, Header> = {
  "upcat-linux-x64": GLIBC_X64,
  "upcat-linux-x64-baseline": GLIBC_X64,
  "upcat-linux-arm64": { format: "ELF64", machine: "aarch64", interp: "/lib/ld-linux-aarch64.so.1" },
  "upcat-linux-x64-musl": MUSL_X64,
  "upcat-linux-x64-musl-baseline": MUSL_X64,
  "upcat-linux-arm64-musl": { format: "ELF64", machine: "aarch64", interp: "/lib/ld-musl-aarch64.so.1" },
  "upcat-darwin-x64": { format: "Mach-O 64", machine: "x86-64" },
  "upcat-darwin-x64-baseline": { format: "Mach-O 64", machine: "x86-64" },
  "upcat-darwin-arm64": { format: "Mach-O 64", machine: "arm64" },
  "upcat-windows-x64.exe": { format: "PE32+", machine: "x86-64", subsystem: 3 },
  "upcat-windows-x64-baseline.exe": { format: "PE32+", machine: "x86-64", subsystem: 3 },
};
const DEBS = { amd64: "upcat-linux-x64-baseline", arm64: "upcat-linux-arm64" } as const;
const debName = (arch: string) => `upcat_${pkg.version}_${arch}.deb`;
/** INSTALLERS go beside the assets, outside SHA256SUMS: they are what fetches and checks it. */
const INSTALLERS = ["install.sh", "install.ps1"];
const ROOT = new URL("../..", import.meta.url).pathname;
/** SUMMED is every file a user downloads: what SHA256SUMS must cover. */
const SUMMED = [...Object.keys(expected), ...Object.keys(DOCS), ...Object.keys(DEBS).map(debName)].sort();

/**
 * builtFrom is the commit the native binary names: others commit to this tree while the tests run, so HEAD may have
 * moved on.
 */
async function builtFrom(): Promise<string> {
  const out = Bun.spawnSync([join(await releaseDir(), hostTarget().asset), "--version"]).stdout.toString();
  const commit = /\(([0-9a-f]{12})(-dirty)?\)$/.exec(out.trim())?.[1];
  if (!commit) throw new Error(`no commit in ${out}`);
  // It is a commit of this repository's history, not a made-up string.
  expect(Bun.spawnSync(["git", "merge-base", "--is-ancestor", commit, "HEAD"]).exitCode).toBe(0);
  return commit;
}

async function sha(path: string): Promise<string> {
  return new Bun.CryptoHasher("sha256").update(await Bun.file(path).bytes()).digest("hex");
}

test("the build makes one asset per target, named as the installer guesses, and every other release file", async () => {
  const dir = await releaseDir();
  expect(targets.map((t) => t.asset).sort()).toEqual(Object.keys(expected).sort());
  expect(readdirSync(dir).sort()).toEqual([...SUMMED, ...INSTALLERS, "SHA256SUMS", "VERSION", "container"].sort());
  expect(await Bun.file(join(dir, "VERSION")).text()).toBe(`${pkg.version}\n`);
  // The installers as they are in scripts/, so that dist/ served is a mirror (the README's example).
  for (const name of INSTALLERS)
    expect(await Bun.file(join(dir, name)).bytes()).toEqual(await Bun.file(join(ROOT, "scripts", name)).bytes());
}, 300_000);

test.each(Object.entries(expected))("%s has the right header", async (asset, header) => {
  const got = await readHeader(join(await releaseDir(), asset));
  expect(got).toEqual(header);
});

test.each(targets.map((t) => [t.asset, t.name]))(
  "%s embeds the version, the commit and its own target %s",
  async (asset, name) => {
    // Foreign binaries cannot run here; the defined strings are in the embedded bundle all the same.
    const bytes = Buffer.from(await Bun.file(join(await releaseDir(), asset)).bytes());
    expect(bytes.includes(JSON.stringify(pkg.version))).toBe(true);
    expect(bytes.includes(await builtFrom())).toBe(true);
    // Exactly its own: upgrade fetches upcat-<target>, so a baseline binary must not think it is the AVX2 one.
    const named = targets.filter((t) => bytes.includes(JSON.stringify(t.name))).map((t) => t.name);
    expect(named).toEqual([name]);
  },
);

test("SHA256SUMS has one line per downloadable file with the hash Bun computes, and sha256sum -c accepts " +
  "it", async () => {
  const dir = await releaseDir();
  const lines = (await Bun.file(join(dir, "SHA256SUMS")).text()).trimEnd().split("\n");
  expect(lines.map((l) => l.split("  ")[1]).sort()).toEqual(SUMMED);
  for (const line of lines) {
    const [hash, name] = line.split("  ");
    expect(hash).toBe(await sha(join(dir, name!)));
  }
  const check = Bun.spawnSync(["sha256sum", "--check", "--strict", "SHA256SUMS"], { cwd: dir });
  expect(check.stderr.toString()).toBe("");
  expect(check.exitCode).toBe(0);
  expect(check.stdout.toString().trim().split("\n")).toHaveLength(SUMMED.length);
}, 120_000);

test.each(Object.entries(DEBS))(
  "the %s .deb holds %s as /usr/bin/upcat, and says its architecture",
  async (arch, binary) => {
    const dir = await releaseDir();
    const deb = join(dir, debName(arch));
    const info = Bun.spawnSync(["dpkg-deb", "--field", deb, "Package", "Version", "Architecture"]).stdout.toString();
    expect(info).toBe(`Package: upcat\nVersion: ${pkg.version}\nArchitecture: ${arch}\n`);
    const tar = Bun.spawnSync(["dpkg-deb", "--fsys-tarfile", deb]).stdout;
    const inside = Bun.spawnSync(["tar", "-xO", "./usr/bin/upcat"], { stdin: tar }).stdout;
    expect(new Bun.CryptoHasher("sha256").update(inside).digest("hex")).toBe(await sha(join(dir, binary)));
  },
);

test.each([
  ["amd64", "upcat-linux-x64-baseline"],
  ["arm64", "upcat-linux-arm64"],
])("the %s image tree holds %s as /usr/local/bin/upcat", async (arch, binary) => {
  const dir = await releaseDir();
  expect(await sha(join(dir, "container", arch, "usr/local/bin/upcat"))).toBe(await sha(join(dir, binary)));
});

test("the native binary prints the version from package.json and the commit it was built from", async () => {
  const dir = await releaseDir();
  const host = Bun.spawnSync([join(dir, hostTarget().asset), "--version"], { env: { PATH: "/nonexistent" } });
  expect(host.stdout.toString()).toMatch(
    new RegExp(`^upcat ${pkg.version.replaceAll(".", "\\.")} \\(${await builtFrom()}(-dirty)?\\)\\n$`),
  );
  expect(host.exitCode).toBe(0);
});
