// chargen over TCP to readers that stop and to readers that take 256 MiB: the compiled server's memory stays flat.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { compiled } from "../support/binary.ts";
import { startServer, type Server } from "../support/run.ts";
import { figure } from "../support/figures.ts";

let server: Server;
beforeAll(async () => {
  server = await startServer(await compiled(), [
    "--tcp",
    "--protocol",
    "chargen",
    "--port",
    "0",
    "--host",
    "127.0.0.1",
  ]);
}, 120_000);
afterAll(() => server?.stop());

async function rss(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
}

test("20 clients that never read cost the server little, and one reading 256 MiB costs nothing more", async () => {
  const stalled = await Promise.all(
    Array.from({ length: 20 }, () =>
      Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {} } }).then((s) => (s.pause(), s)),
    ),
  );
  // A settle window: 1.5 s of chargen fills every stalled client's buffers; nothing signals that they are full.
  await Bun.sleep(1500);
  const whileStalled = await rss(server.proc.pid, "VmRSS");

  let received = 0;
  const done = Promise.withResolvers<void>();
  await Bun.connect({
    hostname: "127.0.0.1",
    port: server.port,
    socket: {
      data(s, d) {
        received += d.length;
        if (received >= 256 << 20) {
          s.end();
          done.resolve();
        }
      },
      close: () => done.resolve(),
    },
  });
  await done.promise;
  stalled.forEach((s) => s.end());
  const peak = await rss(server.proc.pid, "VmHWM");
  figure(
    `chargen server: RSS with 20 stalled readers ${(whileStalled / 2 ** 20).toFixed(1)} MiB, ` +
      `peak after 256 MiB streamed ${(peak / 2 ** 20).toFixed(1)} MiB`,
  );
  expect(received).toBeGreaterThanOrEqual(256 << 20);
  expect(whileStalled).toBeLessThan(150 * 2 ** 20);
  expect(peak).toBeLessThan(150 * 2 ** 20);
}, 120_000);
