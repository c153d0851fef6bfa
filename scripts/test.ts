// Runs the test suite in two groups: `fast` (everything but the slow group, a few minutes on 2 cores)
// and `slow` (release builds of every target, qemu, packages, the container tree, the soak, and the
// differential suites against real services). `all` runs both. CI runs both; npm test runs fast.
// bun scripts/test.ts fast|slow|all [more bun test arguments]
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SLOW = [
  "tests/verdicts/**",
  "tests/e2e/artifacts.test.ts",
  "tests/e2e/qemu.test.ts",
  "tests/e2e/deb.test.ts",
  "tests/e2e/container.test.ts",
  "tests/e2e/install.test.ts",
  "tests/e2e/upgrade.test.ts",
  "tests/e2e/soak.test.ts",
];

const [group = "fast", ...rest] = process.argv.slice(2);
const groups: Record<string, string[]> = {
  fast: SLOW.map((pattern) => `--path-ignore-patterns=${pattern}`),
  slow: SLOW.map((pattern) => pattern.replace("/**", "")),
  all: [],
};
const args = groups[group];
if (!args) {
  console.error(`usage: bun scripts/test.ts fast|slow|all [bun test arguments] (not "${group}")`);
  process.exit(2);
}
// The run's folder, removed here however bun test ends: its own clean-up (tests/support/scratch.ts) does not run
// when it is killed or crashes, and a release build leaves gigabytes.
const dir = mkdtempSync(join(tmpdir(), "upcat-test-run-"));
// Traversable by all: some tests run binaries as nobody from folders inside it.
chmodSync(dir, 0o711);
const proc = Bun.spawn([process.execPath, "test", ...args, ...rest], {
  stdio: ["inherit", "inherit", "inherit"],
  // The peers are Debian's packages (.ci/apt-packages): a version manager's shims first on PATH (pyenv's python3
  // takes 350 ms to start, against 40) would time out tests that start twenty peers at once.
  env: { ...process.env, TMPDIR: dir, PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ""}` },
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => proc.kill(signal));
const status = await proc.exited;
rmSync(dir, { recursive: true, force: true });
process.exit(status);
