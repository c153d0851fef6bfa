// A server's log whose reader stalls (a log shipper that hangs, a `| less` left open) must not stop the server: it
// did, after 248 connections with `--log json` into a pipe nobody read, every client after them timing out. Lines
// past the backlog (1 MiB) are dropped and counted; the count, and the last line, still come out.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { freePort, requireTool } from "../support/peers.ts";
import { fromSource } from "../support/run.ts";

/** CLIENTS connect one after another, each sending "hi" and wanting "HI" back: python3, no code of ours. */
const CLIENTS = join(import.meta.dir, "..", "peers", "hi_clients.py");

/** stops end what a test started, if it failed before it could. */
const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  await Promise.all(stops.map((stop) => stop()));
});

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** serveIntoStuckPipe runs `serve` with stdout and stderr into a pipe nobody reads until `release` is called. */
async function serveIntoStuckPipe(args: string[]) {
  const port = await freePort();
  const dir = (await Bun.$`mktemp -d`.text()).trim();
  const gate = `${dir}/go`;
  const upcat = [...fromSource.argv, "serve", "--host", "127.0.0.1", "--port", String(port), ...args]
    .map(quote)
    .join(" ");
  // The reader waits for the gate file before it reads anything; the status is upcat's own.
  const reader = `{ while [ ! -e ${gate} ]; do sleep 0.1; done; cat; }`;
  const script = `${upcat} 2>&1 | ${reader}; echo "status $\{PIPESTATUS[0]}" >&2`;
  const proc = Bun.spawn(["bash", "-c", script], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...fromSource.env, NO_COLOR: "1" },
  });
  // Ready once the port takes connections (one connection more for the server to count): the ready line is in the
  // pipe nobody reads yet.
  for (let i = 0; i < 100; i++) {
    const up = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
      (s) => (s.end(), true),
      () => false,
    );
    if (up) break;
    await Bun.sleep(50);
  }
  let stopped: Promise<{ stdout: string; stderr: string }> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await Bun.$`pkill -TERM -f -- ${`--port ${port}`}`.nothrow().quiet();
      await Bun.write(gate, "");
      const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      await proc.exited;
      await Bun.$`rm -rf ${dir}`.quiet();
      return { stdout, stderr };
    })();
    return stopped;
  };
  stops.push(stop);
  return { port, stop };
}

test("serve --log json into a pipe nobody reads: 6000 clients all answered; what is dropped is counted", async () => {
  // 6001 connections in all: the one that saw the port open, and the clients'.
  const s = await serveIntoStuckPipe(["--tcp", "--log", "json", "--max-per-address", "0"]);
  const clients = Bun.spawn([requireTool("python3"), CLIENTS, String(s.port), "6000"], { stdout: "pipe" });
  const answered = Number((await new Response(clients.stdout).text()).trim());
  const { stdout, stderr } = await s.stop();
  expect(stderr).toBe("status 0\n");
  // Before: 248 answered, then every client timed out while the server waited for the pipe.
  expect(answered).toBe(6000);
  const records = stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { event: string; lines?: number; connections?: number });
  const dropped = records.filter((r) => r.event === "log_dropped");
  expect(dropped.length).toBeGreaterThanOrEqual(1);
  // Every connection's two lines (open, close) are either written or counted as dropped.
  const said = records.filter((r) => r.event !== "log_dropped" && r.event !== "listening" && r.event !== "stopped");
  const droppedLines = dropped.reduce((n, r) => n + r.lines!, 0);
  expect(said.length + droppedLines).toBe(2 * 6001);
  // At most the backlog waited: about 1 MiB of lines, the rest dropped.
  expect(stdout.length).toBeLessThan((1 << 20) + 128 * 1024);
  expect(records.at(-1)).toMatchObject({ event: "stopped", connections: 6001 });
}, 60_000);
