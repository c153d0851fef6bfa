// The .deb: lintian finds no error, dpkg -i installs a working upcat with its man page and bash completion, upgrade
// defers to dpkg, dpkg -r removes it all.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { buildDeb } from "../../scripts/deb.ts";
import { writeDocs } from "../../scripts/docs.ts";
import { hostTarget } from "../../scripts/targets.ts";
import { emptyPath, nativeBinary } from "../support/binary.ts";
import { requireTool } from "../support/peers.ts";
import { run } from "../support/run.ts";

const FILES = [
  "/usr/bin/upcat",
  "/usr/share/man/man1/upcat.1.gz",
  "/usr/share/bash-completion/completions/upcat",
  "/usr/share/zsh/vendor-completions/_upcat",
  "/usr/share/fish/vendor_completions.d/upcat.fish",
  "/usr/share/doc/upcat/copyright",
];
// TMPDIR is the run's (tests/support/scratch.ts), so what lintian leaves in it goes with the run.
const SYSTEM = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", TMPDIR: tmpdir() };
let dir: string;
let deb: string;
let installedByUs = false;

function dpkg(...args: string[]): { status: number; out: string } {
  const r = Bun.spawnSync([requireTool("dpkg"), ...args], { env: SYSTEM });
  return { status: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

beforeAll(async () => {
  // This test installs into the machine's /usr: never over an upcat someone else installed.
  if (dpkg("-s", "upcat").status === 0)
    throw new Error("a package called upcat is installed already: remove it (dpkg -r upcat) before this test");
  dir = mkdtempSync(join(tmpdir(), "upcat-deb-"));
  await writeDocs(dir);
  const arch = hostTarget().arch === "x64" ? "amd64" : "arm64";
  deb = await buildDeb({ binary: await nativeBinary(), docs: dir, arch, version: pkg.version, outdir: dir });
}, 180_000);

afterAll(() => {
  if (installedByUs) dpkg("-r", "upcat");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("lintian reports no error and no warning", () => {
  const r = Bun.spawnSync([requireTool("lintian"), "--allow-root", deb], { env: SYSTEM });
  expect(r.stdout.toString()).toBe("");
  expect(r.exitCode).toBe(0);
}, 120_000);

test("dpkg -i: upcat runs, man upcat renders, bash completes it; dpkg -r removes every file", async () => {
  const install = dpkg("-i", deb);
  expect(install.status).toBe(0);
  installedByUs = true;
  for (const file of FILES) expect(existsSync(file)).toBe(true);

  const version = await run({ argv: ["/usr/bin/upcat"], env: { PATH: emptyPath() } }, ["--version"]);
  expect(version).toMatchObject({ status: 0, stderr: "" });
  expect(version.stdout).toStartWith(`upcat ${pkg.version} (`);

  const man = Bun.spawnSync([requireTool("man"), "upcat"], { env: { ...SYSTEM, MANWIDTH: "80" } });
  expect(man.exitCode).toBe(0);
  expect(man.stdout.toString().replace(/.\x08/g, "")).toMatch(/upcat +- netcat-style servers/);

  // bash-completion loads a command's script on first use from /usr/share/bash-completion/completions.
  const bash = Bun.spawnSync(
    [
      "/bin/bash",
      "--norc",
      "--noprofile",
      "-c",
      "source /usr/share/bash-completion/bash_completion; __load_completion upcat; complete -p upcat",
    ],
    { env: SYSTEM },
  );
  expect(bash.stdout.toString()).toBe("complete -F __upcat_complete upcat\n");

  const before = await Bun.file("/usr/bin/upcat").bytes();
  const upgrade = await run(
    { argv: ["/usr/bin/upcat"], env: { PATH: emptyPath(), UPCAT_RELEASES_URL: "http://127.0.0.1:9" } },
    ["upgrade", "0.0.1"],
    { timeoutMs: 30_000 },
  );
  // The package manager owns the file: upgrade refuses before it downloads anything (port 9 is closed).
  expect(upgrade.stderr).not.toContain("127.0.0.1:9");
  expect(upgrade).toMatchObject({ status: 1, stdout: "" });
  expect(upgrade.stderr).toBe(
    "upcat: upgrade: /usr/bin/upcat belongs to the Debian package upcat: upgrade it with apt " +
      "(apt install --only-upgrade upcat) or dpkg -i; upcat upgrade does not replace a file a package manager owns\n",
  );
  expect(await Bun.file("/usr/bin/upcat").bytes()).toEqual(before);

  const remove = dpkg("-r", "upcat");
  expect(remove.status).toBe(0);
  installedByUs = false;
  for (const file of FILES) expect(existsSync(file)).toBe(false);
  expect(dpkg("-s", "upcat").status).not.toBe(0);
}, 120_000);
