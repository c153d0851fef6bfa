// The batch UDP engine in the linux-arm64 release binary under qemu: its struct layouts (mmsghdr, iovec, sockaddr)
// on the other 64-bit Linux, with the datagrams a batch engine could get wrong, beside the same binary's Bun engine.
// (That the engine reads what Bun leaves, rather than Bun alone serving, tests/transport/udp-textbook.test.ts shows.)
import { expect, test } from "bun:test";
import { emptyPath } from "../support/binary.ts";
import { requireTool } from "../support/peers.ts";
import { targetRelease } from "../support/release.ts";
import { startServer } from "../support/run.ts";

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
