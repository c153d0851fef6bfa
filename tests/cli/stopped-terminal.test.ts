// A terminal that takes output slowly (a slow ssh link) or not at all (Ctrl-S) must not hold up a server or a check:
// Bun writes a terminal blocking, so `serve --log json` stopped answering once the terminal's buffer was full (0 of
// 3000 clients answered after Ctrl-S), and a check's latencies were the terminal's pace. Run on a pseudo-terminal
// stopped with XOFF, as Ctrl-S stops it, by stopped-terminal.py.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { join } from "node:path";
import { jsonRecords } from "../check/json-records.ts";
import { freePort, requireTool, startPeer } from "../support/peers.ts";
import { fromSource } from "../support/run.ts";

const HARNESS = join(import.meta.dir, "stopped-terminal.py");

/** onStoppedTerminal runs upcat on a terminal stopped for its run (or `seconds`), with `clients` at `port` if given. */
async function onStoppedTerminal(args: string[], opts: { seconds: number; port?: number; clients?: number }) {
  const proc = Bun.spawn(
    [
      requireTool("python3"),
      HARNESS,
      String(opts.seconds),
      String(opts.port ?? 0),
      String(opts.clients ?? 0),
      "--",
      ...fromSource.argv,
      ...args,
    ],
    { stdout: "pipe", stderr: "pipe", env: { ...fromSource.env, NO_COLOR: "1" } },
  );
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  expect({ harness: await proc.exited, stderr }).toEqual({ harness: 0, stderr: "" });
  return JSON.parse(stdout) as { status: number; output: string; answered: number };
}

/** The oracle's open port: python3 accepting and closing each connection. */
const ACCEPTOR =
  "import socket\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(4096)\nprint(s.getsockname()[1],flush=True)\n" +
  "while True:\n  c,_=s.accept()\n  c.close()\n";
let acceptor: { proc: Subprocess; port: number };
beforeAll(async () => {
  const a = await startPeer([requireTool("python3"), "-c", ACCEPTOR], /^(\d+)\n/);
  acceptor = { proc: a.proc, port: Number(a.match[1]) };
});
afterAll(() => acceptor.proc.kill("SIGKILL"));

test("serve --log json on a stopped terminal: 3000 clients answered, every line out after Ctrl-Q", async () => {
  const port = await freePort();
  const r = await onStoppedTerminal(
    ["serve", "--tcp", "--host", "127.0.0.1", "--port", String(port), "--log", "json", "--max-per-address", "0"],
    { seconds: 1, port, clients: 3000 },
  );
  expect(r.answered).toBe(3000);
  expect(r.status).toBe(0);
  const events = r.output
    .split(/\r?\n/)
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { event: string; connections?: number });
  // Two lines a connection, all within the 1 MiB that may wait: none dropped.
  expect(events.filter((e) => e.event === "log_dropped")).toEqual([]);
  // The harness's connection that saw the port open, and the clients': 3001 connections.
  expect(events.length).toBe(1 + 2 * 3001 + 1);
  expect(events.at(-1)).toMatchObject({ event: "stopped", connections: 3001 });
}, 60_000);

test("check --json on a stopped terminal: 400 checks of an open port keep their own latencies", async () => {
  const targets = Array.from({ length: 400 }, () => `127.0.0.1:${acceptor.port}`);
  const r = await onStoppedTerminal(["check", "--json", "--concurrency", "50", "--timeout", "1s", ...targets], {
    seconds: 3,
  });
  expect(r.status).toBe(0);
  const records = jsonRecords(r.output.replaceAll("\r\n", "\n"));
  expect(records.length).toBe(400);
  expect(records.filter((x) => x.state !== "open")).toEqual([]);
  // Before, the checks in flight when the terminal filled were timed at its pace: up to the 3 s it was stopped.
  expect(Math.max(...records.map((x) => x.latency_ms))).toBeLessThan(500);
}, 30_000);
