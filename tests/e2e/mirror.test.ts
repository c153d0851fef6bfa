// A folder scripts/build.ts writes is a release folder with the installers in it (issue 28, item 9): served over HTTP
// it is a mirror for UPCAT_BASE_URL, and the README's mirror example runs as written against it.
import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { hostTarget } from "../../scripts/targets.ts";
import { NATIVE_DIR, nativeBinary } from "../support/binary.ts";
import { freePort, requireTool } from "../support/peers.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const INSTALLERS = ["install.sh", "install.ps1"];

test.each(INSTALLERS)(
  "the build puts %s beside the assets, byte for byte scripts/'s",
  async (name) => {
    await nativeBinary();
    expect(readFileSync(join(NATIVE_DIR, name))).toEqual(readFileSync(join(ROOT, "scripts", name)));
  },
  300_000,
);

/** mirrorExample is the README's sh block that serves dist/ with http.server, the build line left out. */
function mirrorExample(): { built: boolean; lines: string[] } {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const block = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)]
    .map((m) => m[1]!)
    .find((b) => b.includes("http.server"));
  if (!block) throw new Error("README.md has no sh block that serves dist/ with python3 -m http.server");
  const lines = block.trimEnd().split("\n");
  // The test's build is the run's native one (tests/support/binary.ts): the block's build line is not run again.
  const built = lines.some((line) => line.startsWith("node_modules/.bin/bun run build"));
  return { built, lines: lines.filter((line) => !line.startsWith("node_modules/.bin/bun run build")) };
}

test("the README's mirror example: dist/ served on loopback, install.sh from it, then upgrade --check", async () => {
  await nativeBinary();
  const { built, lines } = mirrorExample();
  expect(built).toBe(true);
  const port = String(await freePort());
  // As written, but on a free port (others run tests here) and serving the run's build folder instead of dist/.
  const script = lines.join("\n").replaceAll("8765", port).replace("--directory dist ", `--directory ${NATIVE_DIR} `);
  expect(script).toContain(`--directory ${NATIVE_DIR} `);
  const home = mkdtempSync(join(tmpdir(), "upcat-mirror-home-"));
  const dirs = new Set(["python3", "curl", "sha256sum"].map((tool) => requireTool(tool).replace(/\/[^/]+$/, "")));
  // A process group of its own, so the server goes with it even when a line fails before `kill $!`.
  const sh = spawn("sh", ["-e", "-c", script], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    // Only the host's binary is built: the AVX2 build it is, whatever this CPU says.
    env: { PATH: [...dirs, "/usr/bin", "/bin"].join(":"), HOME: home, UPCAT_BASELINE: "0", NO_COLOR: "1" },
  });
  let stdout = "";
  let stderr = "";
  sh.stdout.on("data", (b: Buffer) => (stdout += b));
  sh.stderr.on("data", (b: Buffer) => (stderr += b));
  const killer = setTimeout(() => process.kill(-sh.pid!, "SIGKILL"), 60_000);
  const status = await new Promise<number | null>((resolve) => sh.on("close", resolve));
  clearTimeout(killer);
  try {
    process.kill(-sh.pid!, "SIGTERM");
  } catch {}
  const v = pkg.version;
  expect({ status, stderr }).toMatchObject({ status: 0 });
  const installed = join(home, ".upcat/bin/upcat");
  expect(stdout).toContain(`Installed upcat ${v} `);
  expect(stdout).toEndWith(`upcat ${v} is up to date (release ${v})\n`);
  expect(readFileSync(installed)).toEqual(readFileSync(join(NATIVE_DIR, hostTarget().asset)));
  // The server served the installer itself, then the asset, SHA256SUMS and VERSION.
  for (const path of ["/install.sh", `/${hostTarget().asset}`, "/SHA256SUMS", "/VERSION"])
    expect(stderr).toContain(`"GET ${path} HTTP/1.1" 200`);
}, 300_000);
