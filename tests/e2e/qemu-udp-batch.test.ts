// The batch UDP engine in the linux-arm64 release binary under qemu: its struct layouts (mmsghdr, iovec, sockaddr)
// on the other 64-bit Linux, with the datagrams a batch engine could get wrong, beside the same binary's Bun engine.
import { expect, test } from "bun:test";
import { readdirSync, readlinkSync } from "node:fs";
import { emptyPath } from "../support/binary.ts";
import { requireTool } from "../support/peers.ts";
import { targetRelease } from "../support/release.ts";
import { startServer } from "../support/run.ts";

const SYSROOT = "/usr/aarch64-linux-gnu";
const CLIENT = new URL("../transport/udp-client-burst.py", import.meta.url).pathname;
const hex = (s: string) => Buffer.from(s, "latin1").toString("hex");
const BIG = "abcdefghij".repeat(6551).slice(0, 65_507);
const BURST = Array.from({ length: 125 }, (_, k) => `datagram ${k}`);
const BURSTS = [[hex(BIG)], [""], ["61ff62c3"], BURST.map(hex)];
const WANT = [[hex(BIG.toUpperCase())], [""], ["41ff42c3"], BURST.map((d) => hex(d.toUpperCase()))];

/** eventfds counts a process's eventfds: the batch engine's poller thread adds one (and its own event loop's). */
const eventfds = (pid: number) =>
  readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).includes("eventfd");
    } catch {
      return false;
    }
  }).length;

test("arm64 serve --udp: the batch engine answers as the Bun engine does (65 507 bytes, empty, not UTF-8, a burst " +
  "of 125)", async () => {
  const qemu = requireTool("qemu-aarch64-static");
  const binary = await targetRelease("linux-arm64");
  const seen: Record<string, number> = {};
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
      seen[engine] = eventfds(server.proc.pid);
    } finally {
      await server.stop();
    }
  }
  // The batch engine did serve: its poller thread is there.
  expect(seen.batch!).toBeGreaterThan(seen.bun!);
}, 300_000);
