// A test run leaves nothing behind: what its tests build and write under tmpdir() goes with the run
// (tests/support/scratch.ts, preloaded by bunfig.toml), even though bun test never fires process.on("exit").
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;
const outer = mkdtempSync(join(tmpdir(), "upcat-scratch-"));
afterAll(() => rmSync(outer, { recursive: true, force: true }));

test("a bun test run removes its scratch folder and its TMPDIR when it ends", () => {
  const r = Bun.spawnSync([process.execPath, "test", "./tests/fixtures/writes-scratch.ts"], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: outer },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(r.stderr.toString()).toContain("1 pass");
  expect(r.exitCode).toBe(0);
  expect(readdirSync(outer)).toEqual([]);
});
