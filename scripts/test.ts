// Runs the test suite in two groups: `fast` (everything but the slow group, a few minutes on 2 cores)
// and `slow` (release builds of every target, qemu, packages, the container tree, the soak, and the
// differential suites against real services). `all` runs both. CI runs both; npm test runs fast.
// bun scripts/test.ts fast|slow|all [more bun test arguments]
// A module (for the top-level await below), though it exports nothing.
export {};

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
const proc = Bun.spawn([process.execPath, "test", ...args, ...rest], { stdio: ["inherit", "inherit", "inherit"] });
process.exit(await proc.exited);
