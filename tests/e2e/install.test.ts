// scripts/install.sh end to end against release assets served on loopback: installs, refusals and clear errors.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostTarget } from "../../scripts/targets.ts";
import { NATIVE_DIR, nativeBinary } from "../support/binary.ts";
import { requireTool } from "../support/peers.ts";
import { re } from "../support/re.ts";

const SCRIPT = new URL("../../scripts/install.sh", import.meta.url).pathname;
// Everything install.sh runs besides a downloader and a checksum tool, which the tests choose.
const BASE_TOOLS = ["uname", "ldd", "awk", "mktemp", "rm", "mkdir", "cp", "chmod", "mv", "grep"];

// The flags lines of real CPUs' /proc/cpuinfo (trimmed of power-management noise): what decides the baseline build.
const CPUS = {
  // Intel Xeon X5570 (Nehalem, 2009): SSE4.2, no AVX at all.
  nehalem:
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss " +
    "ht tm pbe syscall nx rdtscp lm constant_tsc pni dtes64 monitor ds_cpl vmx est tm2 ssse3 cx16 xtpr pdcm dca " +
    "sse4_1 sse4_2 popcnt lahf_lm",
  // Intel Core i7-2600 (Sandy Bridge, 2011): AVX but not AVX2, which must not be mistaken for it.
  sandybridge:
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall " +
    "nx rdtscp lm pni pclmulqdq ssse3 cx16 sse4_1 sse4_2 x2apic popcnt tsc_deadline_timer aes xsave avx lahf_lm",
  // QEMU's default model (qemu64), as many VMs present the CPU.
  qemu64:
    "fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 syscall nx lm " +
    "rep_good nopl xtopology cpuid pni cx16 x2apic hypervisor lahf_lm",
  // Intel Core i7-4770 (Haswell, 2013): AVX2.
  haswell:
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall " +
    "nx pdpe1gb rdtscp lm pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c " +
    "rdrand lahf_lm abm fsgsbase bmi1 avx2 smep bmi2 erms invpcid",
} as const;

/** cpuinfo writes a /proc/cpuinfo with the given flags, as the kernel lays it out, and returns its path. */
function cpuinfo(flags: string): string {
  const path = join(tempDir("upcat-cpu-"), "cpuinfo");
  writeFileSync(
    path,
    `processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: test CPU\nflags\t\t: ${flags}\nbugs\t\t: ` +
      `spectre_v1\n\nprocessor\t: 1\nflags\t\t: ${flags}\n`,
  );
  return path;
}

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
      if (name === "SHA256SUMS" && kind !== undefined && ["good", "corrupt", "missing"].includes(kind))
        return new Response(sums);
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

/**
 * toolPath is a PATH holding only the named tools (links to the system's, or scripts standing in for them): no node, no
 * bun.
 */
function toolPath(tools: string[], fakes: Record<string, string> = {}): string {
  const dir = tempDir("upcat-tools-");
  for (const [tool, script] of Object.entries(fakes))
    writeFileSync(join(dir, tool), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
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
async function install(
  base: string,
  env: Record<string, string> = {},
  tools = ["curl", "sha256sum"],
  fakes: Record<string, string> = {},
): Promise<Install> {
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
      // An AVX2 CPU unless a test says otherwise: the answer must not hang on the machine the tests run on.
      UPCAT_CPUINFO: cpuinfo(CPUS.haswell),
      ...env,
    },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [stdout, stderr, status] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
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
    expect(r.stderr).toMatch(
      re(
        /^upcat install: checksum mismatch for upcat-\S+: /,
        /expected [0-9a-f]{64}, got [0-9a-f]{64}\. .*nothing was installed\n$/,
      ),
    );
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
    expect(r.stderr).toContain(
      "upcat install: neither sha256sum nor shasum was found, so the download cannot be verified",
    );
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

describe("a CPU without AVX2 gets the baseline build", () => {
  test.each([
    ["nehalem", {}, "upcat-linux-x64-baseline"],
    ["sandybridge", {}, "upcat-linux-x64-baseline"],
    ["qemu64", {}, "upcat-linux-x64-baseline"],
    ["haswell", {}, "upcat-linux-x64"],
    ["nehalem", { UPCAT_LIBC: "musl" }, "upcat-linux-x64-musl-baseline"],
    ["haswell", { UPCAT_LIBC: "musl" }, "upcat-linux-x64-musl"],
    ["nehalem", { UPCAT_OS: "MINGW64_NT-10.0-19045" }, "upcat-windows-x64-baseline.exe"],
    ["haswell", { UPCAT_OS: "MINGW64_NT-10.0-19045" }, "upcat-windows-x64.exe"],
    // arm64 has no baseline build: its CPU description never names AVX2, and must not matter.
    ["nehalem", { UPCAT_ARCH: "aarch64" }, "upcat-linux-arm64"],
    ["haswell", { UPCAT_BASELINE: "1" }, "upcat-linux-x64-baseline"],
    ["nehalem", { UPCAT_BASELINE: "0" }, "upcat-linux-x64"],
  ] as const)("a %s CPU with %o: the installer asks for %s", async (cpu, env, name) => {
    const before = requested.length;
    await install("none", {
      UPCAT_OS: "Linux",
      UPCAT_ARCH: "x86_64",
      UPCAT_LIBC: "glibc",
      UPCAT_CPUINFO: cpuinfo(CPUS[cpu]),
      ...env,
    });
    expect(requested.slice(before)[0]).toBe(`/none/${name}`);
  });

  test("no CPU description to read: the default build, as before", async () => {
    const before = requested.length;
    await install("none", {
      UPCAT_OS: "Linux",
      UPCAT_ARCH: "x86_64",
      UPCAT_LIBC: "glibc",
      UPCAT_CPUINFO: "/nonexistent/cpuinfo",
    });
    expect(requested.slice(before)[0]).toBe("/none/upcat-linux-x64");
  });

  // macOS describes the CPU through sysctl: leaf7_features holds AVX2 on Haswell and later.
  test.each([
    [
      "a Haswell Mac",
      "machdep.cpu.leaf7_features) echo 'RDWRFSGS TSC_THREAD_OFFSET BMI1 AVX2 SMEP BMI2 ERMS INVPCID FPU_CSDS' ;;",
      "upcat-darwin-x64",
    ],
    ["an Ivy Bridge Mac", "machdep.cpu.leaf7_features) echo 'RDWRFSGS SMEP ERMS' ;;", "upcat-darwin-x64-baseline"],
    ["a Mac without CPUID leaf 7", "machdep.cpu.leaf7_features) exit 1 ;;", "upcat-darwin-x64-baseline"],
  ])("%s: the installer asks for %s", async (_name, leaf7, name) => {
    const sysctl =
      `case "$2" in\nmachdep.cpu.features) echo 'FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR SSE ` +
      `SSE2 SSE3 SSSE3 SSE4.1 SSE4.2 POPCNT AES' ;;\n${leaf7}\n*) exit 1 ;;\nesac`;
    const before = requested.length;
    await install("none", { UPCAT_OS: "Darwin", UPCAT_ARCH: "x86_64" }, ["curl", "sha256sum"], { sysctl });
    expect(requested.slice(before)[0]).toBe(`/none/${name}`);
  });

  test("UPCAT_BASELINE other than 1 or 0: a clear error before any download", async () => {
    const before = requested.length;
    const r = await install("good", { UPCAT_BASELINE: "yes" });
    expect(r).toMatchObject({
      status: 1,
      stderr: "upcat install: UPCAT_BASELINE is 1 (the build for CPUs without AVX2) or 0, not yes\n",
    });
    expect(requested.length).toBe(before);
  });
});

test("shellcheck finds nothing in install.sh", () => {
  const r = Bun.spawnSync([requireTool("shellcheck"), "--shell=sh", "--severity=style", SCRIPT]);
  expect(r.stdout.toString() + r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
});
