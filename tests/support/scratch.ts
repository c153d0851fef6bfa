// One temporary folder per `bun test` run for everything the tests write: binaries, release assets, and every
// folder a test makes under tmpdir(), since TMPDIR points inside it. It is removed when the run ends, so a run
// leaves nothing behind in the checkout or in /tmp. bunfig.toml preloads this file: only there is afterAll a
// hook of the whole run (bun test never fires process.on("exit"), which once left 4 GB a run in /tmp).
import { afterAll } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** SCRATCH is this run's folder; every test file of a `bun test` run shares it. */
export const SCRATCH = mkdtempSync(join(tmpdir(), "upcat-test-build-"));
// Traversable by all: some tests run binaries as nobody from folders inside it.
chmodSync(SCRATCH, 0o711);
// The run's own /tmp: world-writable and sticky as /tmp is, for the tests that run as nobody.
process.env.TMPDIR = join(SCRATCH, "tmp");
mkdirSync(process.env.TMPDIR);
chmodSync(process.env.TMPDIR, 0o1777);
// Its own timeout: removing a slow run's release builds (gigabytes) once took 5.8 s, past the default 5 s of a hook.
afterAll(() => rmSync(SCRATCH, { recursive: true, force: true }), 120_000);
