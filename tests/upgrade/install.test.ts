// The last steps of an upgrade on real files: Windows' move-aside swap, the package-manager check, staging where it cannot write.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UpgradeError } from "../../src/upgrade/errors.ts";
import { ownedBy, swap } from "../../src/upgrade/install.ts";

const dir = mkdtempSync(join(tmpdir(), "upcat-upgrade-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each([false, true])("swap (windows: %p) puts the new file in place; Windows keeps the old one aside as .old", async (windows) => {
  const target = join(dir, `upcat-${windows}.exe`);
  writeFileSync(target, "old");
  writeFileSync(`${target}.new`, "new");
  await swap(`${target}.new`, target, windows);
  expect(readFileSync(target, "utf8")).toBe("new");
  expect(readdirSync(dir).filter((f) => f.startsWith(`upcat-${windows}`)).sort()).toEqual(windows ? [`upcat-${windows}.exe`, `upcat-${windows}.exe.old`] : [`upcat-${windows}.exe`]);
});

test("swap on Windows puts the old file back when the new one cannot be moved in", async () => {
  const target = join(dir, "upcat-back.exe");
  writeFileSync(target, "old");
  const err = await swap(join(dir, "no-such-staged-file"), target, true).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UpgradeError);
  expect((err as Error).message).toBe(`cannot replace ${target} (ENOENT); it is unchanged`);
  expect(readFileSync(target, "utf8")).toBe("old");
});

test("ownedBy names the package manager whose file list holds the path, and nothing for other paths", () => {
  const list = join(dir, "upcat.list");
  writeFileSync(list, "/.\n/usr\n/usr/bin\n/usr/bin/upcat\n");
  const lists = [{ list, how: "the test package" }];
  expect(ownedBy("/usr/bin/upcat", lists)).toBe("the test package");
  expect(ownedBy("/root/.upcat/bin/upcat", lists)).toBeUndefined();
  expect(ownedBy("/usr/bin/upcat", [{ list: join(dir, "absent.list"), how: "none" }])).toBeUndefined();
});
