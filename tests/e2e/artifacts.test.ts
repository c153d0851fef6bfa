// Every release binary from `bun scripts/build.ts`: the right format and CPU read from its header, and SHA256SUMS that sha256sum accepts.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { hostTarget, targets } from "../../scripts/targets.ts";
import { readHeader, type Header } from "../support/exe-header.ts";
import { releaseDir } from "../support/release.ts";

const expected: Record<string, Header> = {
  "upcat-linux-x64": { format: "ELF64", machine: "x86-64", interp: "/lib64/ld-linux-x86-64.so.2" },
  "upcat-linux-arm64": { format: "ELF64", machine: "aarch64", interp: "/lib/ld-linux-aarch64.so.1" },
  "upcat-linux-x64-musl": { format: "ELF64", machine: "x86-64", interp: "/lib/ld-musl-x86_64.so.1" },
  "upcat-linux-arm64-musl": { format: "ELF64", machine: "aarch64", interp: "/lib/ld-musl-aarch64.so.1" },
  "upcat-darwin-x64": { format: "Mach-O 64", machine: "x86-64" },
  "upcat-darwin-arm64": { format: "Mach-O 64", machine: "arm64" },
  "upcat-windows-x64.exe": { format: "PE32+", machine: "x86-64", subsystem: 3 },
};

test("the build makes one asset per target, named as the installer guesses, and SHA256SUMS", async () => {
  const dir = await releaseDir();
  expect(targets.map((t) => t.asset).sort()).toEqual(Object.keys(expected).sort());
  const files = readdirSync(dir).sort();
  expect(files).toEqual([...Object.keys(expected), "SHA256SUMS"].sort());
}, 300_000);

test.each(Object.entries(expected))("%s has the right header", async (asset, header) => {
  const got = await readHeader(join(await releaseDir(), asset));
  expect(got).toEqual(header);
});

test.each(Object.keys(expected))("%s embeds the version and the commit", async (asset) => {
  // Foreign binaries cannot run here; the defined strings are in the embedded bundle all the same.
  const bytes = await Bun.file(join(await releaseDir(), asset)).bytes();
  const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"]).stdout.toString().trim();
  expect(head).toMatch(/^[0-9a-f]{12}$/);
  expect(Buffer.from(bytes).includes(JSON.stringify(pkg.version))).toBe(true);
  expect(Buffer.from(bytes).includes(head)).toBe(true);
});

test("SHA256SUMS has one line per asset with the hash Bun computes, and sha256sum -c accepts it", async () => {
  const dir = await releaseDir();
  const sums = await Bun.file(join(dir, "SHA256SUMS")).text();
  const lines = sums.trimEnd().split("\n");
  expect(lines.map((l) => l.split("  ")[1]).sort()).toEqual(Object.keys(expected).sort());
  for (const line of lines) {
    const [hash, name] = line.split("  ");
    const hasher = new Bun.CryptoHasher("sha256");
    hasher.update(await Bun.file(join(dir, name!)).bytes());
    expect(hash).toBe(hasher.digest("hex"));
  }
  const check = Bun.spawnSync(["sha256sum", "--check", "--strict", "SHA256SUMS"], { cwd: dir });
  expect(check.stderr.toString()).toBe("");
  expect(check.exitCode).toBe(0);
  expect(check.stdout.toString().trim().split("\n")).toHaveLength(7);
});

test("the native binary prints the version from package.json and the commit it was built from", async () => {
  const dir = await releaseDir();
  const host = Bun.spawnSync([join(dir, hostTarget().asset), "--version"], { env: { PATH: "/nonexistent" } });
  const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"]).stdout.toString().trim();
  expect(host.stdout.toString()).toMatch(new RegExp(`^upcat ${pkg.version.replaceAll(".", "\\.")} \\(${head}(-dirty)?\\)\\n$`));
  expect(host.exitCode).toBe(0);
});
