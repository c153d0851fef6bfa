// The batch UDP engine in the linux-arm64 release binary under qemu: its struct layouts (mmsghdr, iovec, sockaddr)
// on the other 64-bit Linux, with the datagrams a batch engine could get wrong, beside the same binary's Bun engine.
// (That the engine reads what Bun leaves, rather than Bun alone serving, tests/transport/udp-textbook.test.ts shows.)
import { expect, test } from "bun:test";
import { emptyPath } from "../support/binary.ts";
import { requireTool } from "../support/peers.ts";
import { targetRelease } from "../support/release.ts";
import { startServer } from "../support/run.ts";
import { startTextbook } from "../support/textbook-udp.ts";

const SYSROOT = "/usr/aarch64-linux-gnu";
const CLIENT = new URL("../transport/udp-client-burst.py", import.meta.url).pathname;
const hex = (s: string) => Buffer.from(s, "latin1").toString("hex");
const BIG = "abcdefghij".repeat(6551).slice(0, 65_507);
const BURST = Array.from({ length: 125 }, (_, k) => `datagram ${k}`);
// The largest amid a burst, so that it is read in a batch rather than handed over by Bun.
const AMID = [...BURST.slice(0, 20), BIG, ...BURST.slice(20, 40)];
const BURSTS = [[hex(BIG)], [""], ["61ff62c3"], BURST.map(hex), AMID.map(hex)];
/** WANT: ASCII uppercased, every other byte as it was (these bytes are ASCII, or not UTF-8 at all). */
const asciiUpper = (h: string) =>
  hex(
    Buffer.from(h, "hex")
      .toString("latin1")
      .replace(/[a-z]/g, (c) => c.toUpperCase()),
  );
const WANT = BURSTS.map((burst) => burst.map(asciiUpper));

test("arm64 serve --udp: the batch engine answers as the Bun engine does (65 507 bytes, empty, not UTF-8, a burst " +
  "of 125)", async () => {
  const qemu = requireTool("qemu-aarch64-static");
  const binary = await targetRelease("linux-arm64");
  for (const engine of ["bun", "batch"]) {
    const cmd = { argv: [qemu, "-L", SYSROOT, binary], env: { PATH: emptyPath() } };
    const server = await startServer(cmd, ["--udp", "--host", "127.0.0.1", "--port", "0"], {
      env: { UPCAT_UDP_ENGINE: engine },
    });
    try {
      const proc = Bun.spawn(["python3", CLIENT], {
        stdin: new Blob([JSON.stringify({ port: server.port, bursts: BURSTS, timeout: 10 })]),
        stdout: "pipe",
      });
      const out = await new Response(proc.stdout).text();
      expect(await proc.exited).toBe(0);
      expect(JSON.parse(out)).toEqual(WANT);
    } finally {
      await server.stop();
    }
  }
}, 300_000);

test("arm64 send --udp, piped: the libc window (epoll's struct on arm64) answers as Bun's sockets do", async () => {
  const qemu = requireTool("qemu-aarch64-static");
  const binary = await targetRelease("linux-arm64");
  const textbook = await startTextbook();
  try {
    const lines = Array.from({ length: 300 }, (_, k) => `line ${k} straße\n`).join("");
    const outputs: Record<string, { status: number; out: string; err: string }> = {};
    for (const engine of ["bun", "batch"]) {
      const proc = Bun.spawn([qemu, "-L", SYSROOT, binary, "send", "--udp", `127.0.0.1:${textbook.port}`], {
        stdin: new Blob([lines]),
        stdout: "pipe",
        stderr: "pipe",
        env: { PATH: emptyPath(), UPCAT_UDP_ENGINE: engine },
      });
      const [out, err, status] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      outputs[engine] = { status, out, err };
    }
    expect(outputs.batch).toEqual({ status: 0, out: lines.toUpperCase(), err: "" });
    expect(outputs.bun).toEqual(outputs.batch!);
  } finally {
    textbook.stop();
  }
}, 300_000);
