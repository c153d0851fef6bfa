// scripts/install.sh end to end against release assets served on loopback: installs, refusals and clear errors.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostTarget } from "../../scripts/targets.ts";
import { NATIVE_DIR, nativeBinary } from "../support/binary.ts";
import { requireTool } from "../support/peers.ts";

const SCRIPT = new URL("../../scripts/install.sh", import.meta.url).pathname;
// Everything install.sh runs besides a downloader and a checksum tool, which the tests choose.
const BASE_TOOLS = ["uname", "ldd", "awk", "mktemp", "rm", "mkdir", "cp", "chmod", "mv"];

let server: ReturnType<typeof Bun.serve>;
let asset: string;
let sums: string;
let corrupt: Uint8Array;
/** requested is every path the installer asked for, in order. */
const requested: string[] = [];
const scratch: string[] = [];

beforeAll(async () => {
  asset = hostTarget().asset;
  await nativeBinary();
  sums = await Bun.file(join(NATIVE_DIR, "SHA256SUMS")).text();
  corrupt = await Bun.file(join(NATIVE_DIR, asset)).bytes();
  corrupt[corrupt.length >> 1]! ^= 0xff; // one bit pattern in the middle: what a bad mirror or an attacker serves
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // /good/ is the release, /corrupt/ the release with one byte changed, /missing/ has SHA256SUMS only.
    fetch(req) {
      const path = new URL(req.url).pathname;
      requested.push(path);
      const [, kind, name] = path.split("/");
      if (name === "SHA256SUMS" && kind !== undefined && ["good", "corrupt", "missing"].includes(kind)) return new Response(sums);
      if (name === asset && kind === "good") return new Response(Bun.file(join(NATIVE_DIR, asset)));
      if (name === asset && kind === "corrupt") return new Response(corrupt);
      return new Response("Not Found\n", { status: 404 });
    },
  });
}, 120_000);

afterAll(() => {
  server?.stop(true);
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

/** toolPath is a PATH holding only the named tools (links to the system's, or scripts standing in for them): no node, no bun. */
function toolPath(tools: string[], fakes: Record<string, string> = {}): string {
  const dir = tempDir("upcat-tools-");
  for (const [tool, script] of Object.entries(fakes)) writeFileSync(join(dir, tool), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  for (const tool of tools) {
    if (tool in fakes) continue;
    const found = requireTool(tool);
    symlinkSync(found, join(dir, tool));
  }
  return dir;
}

interface Install {
  status: number;
  stdout: string;
  stderr: string;
  /** root is UPCAT_INSTALL; the binary lands in root/bin. */
  root: string;
}

/** install runs install.sh with /bin/sh (dash on Debian: a strict POSIX shell). */
async function install(base: string, env: Record<string, string> = {}, tools = ["curl", "sha256sum"], fakes: Record<string, string> = {}): Promise<Install> {
  const root = join(tempDir("upcat-install-"), "upcat");
  const proc = Bun.spawn(["/bin/sh", SCRIPT], {
    stdout: "pipe",
    stderr: "pipe",
    env: {
      PATH: toolPath([...BASE_TOOLS, ...tools], fakes),
      HOME: tempDir("upcat-home-"),
      SHELL: "/bin/bash",
      UPCAT_BASE_URL: `${server.url.origin}/${base}`,
      UPCAT_INSTALL: root,
      ...env,
    },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [stdout, stderr, status] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { status, stdout, stderr, root };
}

async function nativeVersion(): Promise<string> {
  const proc = Bun.spawnSync([await nativeBinary(), "--version"]);
  return proc.stdout.toString();
}

describe("a good install", () => {
  test.each([
    ["curl and sha256sum", ["curl", "sha256sum"]],
    ["wget and shasum", ["wget", "shasum"]],
  ])("with %s: the detected platform's binary, verified, installed and runnable", async (_name, tools) => {
    const r = await install("good", {}, tools);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const installed = join(r.root, "bin", "upcat");
    expect(statSync(installed).mode & 0o111).toBe(0o111);
    const version = Bun.spawnSync([installed, "--version"], { env: { PATH: "/nonexistent" } });
    expect(version.stdout.toString()).toBe(await nativeVersion());
    expect(r.stdout).toContain(`Downloading ${asset} from ${server.url.origin}/good`);
    expect(r.stdout).toContain(`Installed ${(await nativeVersion()).trim()} to ${installed}`);
    // Not on PATH yet: the user is told exactly what to add, for their shell.
    expect(r.stdout).toContain("$HOME/.bashrc");
    expect(r.stdout).toContain(`export UPCAT_INSTALL="${r.root}"`);
    expect(r.stdout).toContain('export PATH="$UPCAT_INSTALL/bin:$PATH"');
  });
});

describe("refusals", () => {
  test("a corrupted asset is refused and nothing is installed", async () => {
    const r = await install("corrupt");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^upcat install: checksum mismatch for upcat-\S+: expected [0-9a-f]{64}, got [0-9a-f]{64}\. .*nothing was installed\n$/);
    expect(existsSync(r.root)).toBe(false);
  });

  test("a corrupted asset leaves an earlier install as it was", async () => {
    const good = await install("good");
    expect(good.status).toBe(0);
    const before = await Bun.file(join(good.root, "bin", "upcat")).bytes();
    const bad = await install("corrupt", { UPCAT_INSTALL: good.root });
    expect(bad.status).toBe(1);
    expect(await Bun.file(join(good.root, "bin", "upcat")).bytes()).toEqual(before);
    expect(existsSync(join(good.root, "bin", "upcat.new"))).toBe(false);
  });

  test("a failed download (404) names the URL and installs nothing", async () => {
    const r = await install("missing");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`upcat install: download failed: ${server.url.origin}/missing/${asset}`);
    expect(existsSync(r.root)).toBe(false);
  });

  test.each([
    [{ UPCAT_OS: "Plan9" }, "unsupported operating system: Plan9"],
    [{ UPCAT_ARCH: "mips64" }, "unsupported architecture: mips64"],
    [{ UPCAT_OS: "MINGW64_NT-10.0", UPCAT_ARCH: "aarch64" }, "unsupported platform: windows-arm64"],
    [{ UPCAT_LIBC: "bionic" }, "unknown C library: bionic"],
  ])("an unknown platform %o is a clear error before any download", async (env, message) => {
    const before = requested.length;
    const r = await install("good", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toStartWith(`upcat install: ${message} (`);
    expect(requested.length).toBe(before);
    expect(existsSync(r.root)).toBe(false);
  });

  test("no sha256sum and no shasum: a clear error before any download", async () => {
    const before = requested.length;
    const r = await install("good", {}, ["curl"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("upcat install: neither sha256sum nor shasum was found, so the download cannot be verified");
    expect(requested.length).toBe(before);
    expect(existsSync(r.root)).toBe(false);
  });

  test("no curl and no wget: a clear error", async () => {
    const r = await install("good", {}, ["sha256sum"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("upcat install: neither curl nor wget was found: install one of them and run this again\n");
  });
});

test.each([
  [{ UPCAT_OS: "Linux", UPCAT_ARCH: "x86_64", UPCAT_LIBC: "glibc" }, "upcat-linux-x64"],
  [{ UPCAT_OS: "Linux", UPCAT_ARCH: "aarch64", UPCAT_LIBC: "glibc" }, "upcat-linux-arm64"],
  [{ UPCAT_OS: "Linux", UPCAT_ARCH: "x86_64", UPCAT_LIBC: "musl" }, "upcat-linux-x64-musl"],
  [{ UPCAT_OS: "Linux", UPCAT_ARCH: "aarch64", UPCAT_LIBC: "musl" }, "upcat-linux-arm64-musl"],
  [{ UPCAT_OS: "Darwin", UPCAT_ARCH: "x86_64" }, "upcat-darwin-x64"],
  [{ UPCAT_OS: "Darwin", UPCAT_ARCH: "arm64" }, "upcat-darwin-arm64"],
  [{ UPCAT_OS: "MINGW64_NT-10.0-19045", UPCAT_ARCH: "x86_64" }, "upcat-windows-x64.exe"],
])("uname says %o: the installer asks for %s", async (env, name) => {
  const before = requested.length;
  await install("none", env);
  expect(requested.slice(before)[0]).toBe(`/none/${name}`);
});

test.each([
  ["musl's", "echo 'musl libc (x86_64)' >&2; echo 'Version 1.2.5' >&2; exit 1", "-musl"],
  ["glibc's", "echo 'ldd (GNU libc) 2.40'", ""],
  ["Debian's glibc", "echo 'ldd (Debian GLIBC 2.36-9+deb12u14) 2.36'", ""],
])("with %s ldd on PATH, the installer asks for that C library's binary", async (_name, ldd, suffix) => {
  const before = requested.length;
  await install("none", {}, ["curl", "sha256sum"], { ldd });
  expect(requested.slice(before)[0]).toBe(`/none/upcat-linux-${hostTarget().arch}${suffix}`);
});

test("shellcheck finds nothing in install.sh", () => {
  const r = Bun.spawnSync([requireTool("shellcheck"), "--shell=sh", "--severity=style", SCRIPT]);
  expect(r.stdout.toString() + r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
});
