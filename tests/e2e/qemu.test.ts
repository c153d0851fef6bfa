// Release binaries under qemu: linux-arm64 talks UDP and TCP to a native server; the x64 builds start under an old CPU
// model.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { compiled, emptyPath } from "../support/binary.ts";
import { countingServer } from "../support/counting-server.ts";
import { freePort, requireTool } from "../support/peers.ts";
import { releaseDir } from "../support/release.ts";
import { run, startServer, type Command, type Server } from "../support/run.ts";

// The binary is linked against glibc, so qemu needs an arm64 sysroot: Debian's libc6-arm64-cross.
const SYSROOT = "/usr/aarch64-linux-gnu";

/** arm64 is the Command that runs upcat-linux-arm64 under qemu, with no node or bun on its PATH. */
async function arm64(): Promise<Command> {
  const qemu = requireTool("qemu-aarch64-static");
  if (!existsSync(join(SYSROOT, "lib/ld-linux-aarch64.so.1")))
    throw new Error(`no arm64 glibc under ${SYSROOT}: apt-get install libc6-arm64-cross (it is in .ci/apt-packages)`);
  const binary = join(await releaseDir(), "upcat-linux-arm64");
  return { argv: [qemu, "-L", SYSROOT, binary], env: { PATH: emptyPath() } };
}

let server: Server;

beforeAll(async () => {
  // One native server on both transports; the foreign binary is the client.
  server = await startServer(await compiled(), ["--host", "127.0.0.1", "--port", "0"]);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

test("upcat-linux-arm64 --version runs under qemu and names the version and commit", async () => {
  const r = await run(await arm64(), ["--version"], { timeoutMs: 60_000 });
  const native = await run(await compiled(), ["--version"]);
  expect(r).toMatchObject({ status: 0, stderr: "" });
  expect(r.stdout).toMatch(new RegExp(`^upcat ${pkg.version.replaceAll(".", "\\.")} \\([0-9a-f]{12}(-dirty)?\\)\\n$`));
  // Built in the same run: the same version as the native binary. The commits may differ, as others
  // commit to this tree between the two builds; each must be one of its commits.
  expect(r.stdout.split(" (")[0]).toBe(native.stdout.split(" (")[0]!);
  const commit = /\(([0-9a-f]{12})/.exec(r.stdout)![1]!;
  expect(Bun.spawnSync(["git", "merge-base", "--is-ancestor", commit, "HEAD"]).exitCode).toBe(0);
}, 120_000);

test.each([
  ["udp", (p: number) => `udp://127.0.0.1:${p}`],
  ["tcp", (p: number) => `tcp://127.0.0.1:${p}`],
])(
  "send over %s from arm64 to a native server",
  async (_name, target) => {
    const r = await run(await arm64(), ["send", "--timeout", "10s", target(server.port), "from arm64", "straße"], {
      timeoutMs: 60_000,
    });
    expect(r).toMatchObject({ status: 0, stdout: "FROM ARM64 STRASSE\n", stderr: "" });
  },
  120_000,
);

// The baseline build is for x64 CPUs without AVX2. qemu-user does not enforce the CPU model's features
// (-cpu Nehalem still runs AVX2 code: it translates instructions, it does not trap them), so no test here
// can show an "Illegal instruction": this proves both x64 builds start and talk when qemu presents a 2009 CPU,
// and nothing about AVX2.
// Which build a machine gets is install.sh's CPU detection, tested against real CPUs' flags in install.test.ts.
test.each([
  ["upcat-linux-x64", "--version", ["--version"], /^upcat \d+\.\d+\.\d+ \(/],
  ["upcat-linux-x64-baseline", "--version", ["--version"], /^upcat \d+\.\d+\.\d+ \(/],
  [
    "upcat-linux-x64-baseline",
    "a UDP send",
    ["send", "--timeout", "10s", "udp://127.0.0.1:PORT", "nehalem"],
    /^NEHALEM\n$/,
  ],
  [
    "upcat-linux-x64-baseline",
    "a TCP send",
    ["send", "--timeout", "10s", "tcp://127.0.0.1:PORT", "nehalem"],
    /^NEHALEM\n$/,
  ],
])(
  "%s runs %s under qemu -cpu Nehalem",
  async (asset, _name, args, out) => {
    const qemu = requireTool("qemu-x86_64-static");
    const cmd = { argv: [qemu, "-cpu", "Nehalem", join(await releaseDir(), asset)], env: { PATH: emptyPath() } };
    const r = await run(
      cmd,
      args.map((a) => a.replace("PORT", String(server.port))),
      { timeoutMs: 60_000 },
    );
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(r.stdout).toMatch(out);
  },
  120_000,
);

// What upcat hands to libc itself (bun:ffi) is laid out by hand: arm64's struct epoll_event is 16 bytes where x64's
// is 12, and the port check and the bench's engines must hold on both.
const started: Bun.Subprocess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) p.kill("SIGKILL");
});

test("arm64: a loopback port check (one libc connect) says open and closed as the native binary does", async () => {
  const closed = await freePort();
  const args = ["check", "--json", `127.0.0.1:${server.port}`, `127.0.0.1:${closed}`, `[::1]:${closed}`];
  const verdicts = (out: string) =>
    out
      .trim()
      .split("\n")
      .map((l) => [JSON.parse(l).target, JSON.parse(l).state]);
  const r = await run(await arm64(), args, { timeoutMs: 60_000 });
  const native = await run(await compiled(), args);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(1);
  expect(verdicts(r.stdout)).toEqual([
    [`tcp://127.0.0.1:${server.port}`, "open"],
    [`tcp://127.0.0.1:${closed}`, "closed"],
    [`tcp://[::1]:${closed}`, "closed"],
  ]);
  expect(verdicts(native.stdout)).toEqual(verdicts(r.stdout));
}, 120_000);

test.each(["udp", "tcp"] as const)(
  "arm64: upcat bench over %s (libc's batch calls and epoll) adds up to what a Python server saw",
  async (transport) => {
    const counter = await countingServer(started);
    const port = transport === "udp" ? counter.udp : counter.tcp;
    const args = [
      "bench",
      `${transport}://127.0.0.1:${port}`,
      "--duration",
      "500ms",
      "--concurrency",
      "4",
      "--size",
      "16",
      "--timeout",
      "5s",
      "--json",
    ];
    const r = await run(await arm64(), args, { timeoutMs: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ proto: transport, errors: 0, concurrency: 4 });
    expect(j.replies).toBeGreaterThan(0);
    expect(j.requests).toBe(j.replies);
    expect(j.bytes_in).toBe(j.replies * 16);
    const seen = await counter.counts();
    if (transport === "udp") expect(seen.datagrams).toBe(j.requests);
    else expect([seen.connections, seen.bytes]).toEqual([4, j.requests * 16]);
  },
  120_000,
);
