// The last steps of an upgrade on real files: Windows' move-aside swap, the package-manager check, staging where it
// cannot write.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UpgradeError } from "../../src/upgrade/errors.ts";
import { ownedBy, swap } from "../../src/upgrade/install.ts";

const dir = mkdtempSync(join(tmpdir(), "upcat-upgrade-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each([false, true])(
  "swap (windows: %p) puts the new file in place; Windows keeps the old one aside as .old",
  async (windows) => {
    const target = join(dir, `upcat-${windows}.exe`);
    writeFileSync(target, "old");
    writeFileSync(`${target}.new`, "new");
    await swap(`${target}.new`, target, windows);
    expect(readFileSync(target, "utf8")).toBe("new");
    expect(
      readdirSync(dir)
        .filter((f) => f.startsWith(`upcat-${windows}`))
        .sort(),
    ).toEqual(windows ? [`upcat-${windows}.exe`, `upcat-${windows}.exe.old`] : [`upcat-${windows}.exe`]);
  },
);

test("swap on Windows puts the old file back when the new one cannot be moved in", async () => {
  const target = join(dir, "upcat-back.exe");
  writeFileSync(target, "old");
  const err = await swap(join(dir, "no-such-staged-file"), target, true).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UpgradeError);
  expect((err as Error).message).toBe(`cannot replace ${target} (ENOENT); it is unchanged`);
  expect(readFileSync(target, "utf8")).toBe("old");
});

test(
  "ownedBy names the package dpkg-query says owns the path, and nothing for other paths or without " + "dpkg-query",
  () => {
    // A stand-in for dpkg-query --search, answering as the real one does.
    const query = join(dir, "dpkg-query");
    writeFileSync(
      query,
      '#!/bin/sh\n[ "$3" = /usr/bin/upcat ] && { echo "upcat: /usr/bin/upcat"; exit 0; }\n' +
        'echo "dpkg-query: no path found matching pattern $3" >&2; exit 1\n',
      { mode: 0o755 },
    );
    expect(ownedBy("/usr/bin/upcat", query)).toBe(
      "the Debian package upcat: upgrade it with apt (apt install --only-upgrade upcat) or dpkg -i",
    );
    expect(ownedBy("/root/.upcat/bin/upcat", query)).toBeUndefined();
    expect(ownedBy("/usr/bin/upcat", join(dir, "absent-dpkg-query"))).toBeUndefined();
  },
);
