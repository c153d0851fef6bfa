// A 1 GiB stream with no newline through the compiled server: every byte back uppercased, the server's memory flat.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Socket } from "bun";
import { compiled } from "../support/binary.ts";
import { startServer, type Server } from "../support/run.ts";
import { figure } from "../support/figures.ts";

const TOTAL = 1 << 30;
const unit = new TextEncoder().encode("abcdefgh한국어 straße "); // no newline, multi-byte characters across chunk edges
const upperUnit = new TextEncoder().encode("ABCDEFGH한국어 STRASSE ");

let server: Server;
beforeAll(async () => {
  server = await startServer(await compiled(), ["--tcp", "--port", "0", "--host", "127.0.0.1"]);
}, 120_000);
afterAll(() => server?.stop());

/** peakRss reads the kernel's high-water mark of the process's resident memory, in bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

test("1 GiB in, 1 GiB-and-more out, byte-exact, server peak RSS under 200 MB", async () => {
  const units = Math.floor(TOTAL / unit.length);
  const block = Buffer.concat(Array.from({ length: 1 << 15 }, () => unit)); // about 700 KB of whole units
  // expected holds the reply pattern long enough that any received chunk can be compared at its phase.
  const expected = Buffer.concat(Array.from({ length: (1 << 17) + 2 }, () => upperUnit));
  let unitsLeft = units;
  let pending: Uint8Array = new Uint8Array(0);
  let received = 0;
  let mismatch = -1;
  const done = Promise.withResolvers<void>();

  const pump = (s: Socket) => {
    for (;;) {
      if (pending.length === 0) {
        if (unitsLeft === 0) return void s.shutdown();
        const n = Math.min(unitsLeft, 1 << 15);
        pending = n === 1 << 15 ? block : block.subarray(0, n * unit.length);
        unitsLeft -= n;
      }
      const written = s.write(pending);
      if (written <= 0) return;
      pending = pending.subarray(written);
      if (pending.length > 0) return;
    }
  };

  await Bun.connect({
    hostname: "127.0.0.1",
    port: server.port,
    allowHalfOpen: true,
    socket: {
      open: pump,
      drain: pump,
      data(_s, chunk) {
        if (mismatch < 0) {
          const phase = received % upperUnit.length;
          if (
            chunk.length > expected.length - phase ||
            Buffer.compare(chunk, expected.subarray(phase, phase + chunk.length)) !== 0
          ) {
            mismatch = received;
          }
        }
        received += chunk.length;
      },
      end: () => done.resolve(),
      close: () => done.resolve(),
      error: (_s, err) => done.reject(err),
    },
  });
  await done.promise;

  expect(mismatch).toBe(-1);
  expect(received).toBe(units * upperUnit.length);
  const peak = await peakRss(server.proc.pid);
  figure(`server peak RSS after 1 GiB: ${(peak / 2 ** 20).toFixed(1)} MiB`);
  expect(peak).toBeLessThan(200 * 1024 * 1024);
}, 180_000);
