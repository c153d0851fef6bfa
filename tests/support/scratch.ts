// One temporary folder per test run for what the tests build (binaries, release assets), removed when
// the run ends: a test leaves nothing behind in the checkout.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** SCRATCH is this run's folder; every test file of a `bun test` run shares it. */
export const SCRATCH = mkdtempSync(join(tmpdir(), "upcat-test-build-"));
process.on("exit", () => rmSync(SCRATCH, { recursive: true, force: true }));
