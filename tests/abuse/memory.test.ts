// Memory has a total (issue 19): queued output across connections (--max-output), limit log lines when they come fast,
// the
// --quotes file, and the uppercase cache; RSS read from /proc.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import type { Socket } from "bun";
import { fromSource, run } from "../support/run.ts";
import { rssBytes, serve, type Serving } from "./support.ts";
import { figure } from "../support/figures.ts";

const MB = 1 << 20;
const dir = mkdtempSync(join(tmpdir(), "upcat-memory-"));
const servers: Serving[] = [];
const clients: Socket[] = [];
afterAll(() => {
  clients.forEach((c) => c.terminate());
  servers.forEach((s) => s.proc.kill("SIGKILL"));
  rmSync(dir, { recursive: true, force: true });
});

test("--max-output 8m: 48 clients that write and never read make the server hold ~8 MB, not 48 x --max-pending " +
  "4m", async () => {
  const server = await serve(
    ["--tcp", "--host", "127.0.0.1", "--port", "0", "--max-pending", "4m", "--max-output", "8m", "--idle-timeout", "0"],
    1,
  );
  servers.push(server);
  const port = server.ports["upper/tcp"]!;
  // A settle window, not a condition: the idle baseline is read once start-up is done, and nothing signals that.
  await Bun.sleep(200);
  const idle = await rssBytes(server.proc.pid);
  const block = new Uint8Array(1 << 16).fill(0x61);
  // Each client writes up to 16 MB, as fast as the server takes it, and never reads: the uppercase
  // replies back up into the server. Without the total, each would leave --max-pending (4 MB) queued.
  const PER_CLIENT = 16 * MB;
  const written = new Map<Socket, number>();
  const pump = (s: Socket) => {
    let n = written.get(s) ?? 0;
    while (n < PER_CLIENT) {
      const w = s.write(block);
      if (w > 0) n += w;
      if (w < block.length) break;
    }
    written.set(s, n);
  };
  for (let k = 0; k < 48; k++) {
    const sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, drain: pump, error() {} } });
    sock.pause();
    clients.push(sock);
    pump(sock);
  }
  // Until the server stops taking input: everything it read and could not write is held, or paused. Stopped means
  // still after 400 ms: the quiet window is the measure.
  let last = -1;
  while (server.stats().bytes_in !== last) {
    last = server.stats().bytes_in ?? 0;
    await Bun.sleep(400);
  }
  const held = (await rssBytes(server.proc.pid)) - idle;
  const stats = server.stats();
  figure(
    `memory: 48 slow readers, server took ${(last / MB).toFixed(0)} MB in, ` +
      `wrote ${((stats.bytes_out ?? 0) / MB).toFixed(0)} MB; RSS +${(held / MB).toFixed(1)} MB; ` +
      `paused ${stats.output_paused} times`,
  );
  expect(stats.output_paused).toBeGreaterThan(0);
  // 48 x 4 MB would be 192 MB of queue alone; the total is 8 MB (and the kernel's socket buffers are not RSS).
  // (Without the total this reads about +225 MB; with it about +45 MB, most of it garbage not yet collected.)
  expect(held).toBeLessThan(100 * MB);
  clients.splice(0).forEach((c) => c.terminate());
  // Paused readers do not stop anyone else: once they are gone, a new client is served.
  const ran = await run(fromSource, ["send", `127.0.0.1:${port}`, "after"], { timeoutMs: 10_000 });
  expect(ran.stdout.trim()).toBe("AFTER");
  expect((await server.stop()).status).toBe(0);
}, 30_000);

test("limit events past 20 a second are summed up in one `limits` line, not written one each", async () => {
  const server = await serve(["--tcp", "--host", "127.0.0.1", "--port", "0", "--max-connections", "1"], 1);
  servers.push(server);
  const port = server.ports["upper/tcp"]!;
  const holder = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, error() {} } });
  clients.push(holder);
  await server.until((s) => s.open === 1, 2000);
  // 300 refused connections, as fast as they go.
  await Promise.all(
    Array.from({ length: 300 }, () =>
      Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, error() {} } }).then(
        (s) => void clients.push(s),
        () => {},
      ),
    ),
  );
  expect(await server.until((s) => s.over_limit === 300, 5000)).toBe(true);
  clients.splice(0).forEach((c) => c.terminate());
  const { status } = await server.stop();
  expect(status).toBe(0);
  const lines = server.events.filter((e) => e.event === "limit").length;
  const summed = server.events.filter((e) => e.event === "limits").reduce((n, e) => n + (e.suppressed as number), 0);
  figure(`memory: 300 over-limit events: ${lines} limit lines, ${summed} summed up`);
  expect(lines + summed).toBe(300);
  expect(lines).toBeLessThanOrEqual(40); // 20 a second, and this took at most two seconds' windows
}, 15_000);

test.each([
  ["/dev/zero", "--quotes /dev/zero is not a regular file"],
  ["a directory", "is not a regular file"],
  ["a FIFO (no writer)", "is not a regular file"],
  ["a file over 1 MiB", "bytes; at most 1048576 are read"],
])("--quotes %s is refused with exit 2 and one line, before anything is read", async (what, message) => {
  const path =
    what === "/dev/zero"
      ? "/dev/zero"
      : what === "a directory"
        ? dir
        : what === "a FIFO (no writer)"
          ? (execFileSync("mkfifo", [join(dir, "fifo")]), join(dir, "fifo"))
          : // 1 050 400 bytes of valid quotes
            (writeFileSync(join(dir, "big"), `${"a".repeat(100)}\n`.repeat(10_400)), join(dir, "big"));
  const ran = await run(fromSource, ["serve", "--protocol", "qotd=0", "--quotes", path], { timeoutMs: 5000 });
  expect(ran.status).toBe(2);
  expect(ran.stderr.trim().split("\n")).toHaveLength(1);
  expect(ran.stderr).toContain(message);
});

test("the uppercase cache stays bounded after one pass over every astral code point (it grew ~60 MB " +
  "before)", async () => {
  const script = `
    import { upcase } from ${JSON.stringify(new URL("../../src/protocol/utf8-upper.ts", import.meta.url).pathname)};
    const enc = new TextEncoder();
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    for (let base = 0x10000; base < 0x110000; base += 4096) {
      let s = "";
      for (let cp = base; cp < base + 4096; cp++) s += String.fromCodePoint(cp);
      upcase(enc.encode(s));
    }
    Bun.gc(true);
    console.log(process.memoryUsage().rss - before);`;
  const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  const grown = Number(await new Response(proc.stdout).text());
  expect(await proc.exited).toBe(0);
  figure(`memory: uppercase cache pass grew RSS ${(grown / MB).toFixed(1)} MB`);
  expect(grown).toBeLessThan(40 * MB);
}, 30_000);
