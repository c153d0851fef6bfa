// serve --workers: N processes of the compiled binary on one port (SO_REUSEPORT), restarted when one
// dies, stopped together, speaking with one voice (the ready line, --stats, the last line).
import { describe, expect, test } from "bun:test";
import { compiled } from "../support/binary.ts";
import { fromSource, run, startServer, type Command, type Server } from "../support/run.ts";
import { childrenOf, listening, waitFor } from "../support/wait.ts";

/** askMany sends `count` TCP and UDP requests from fresh source ports and returns how many came back right. */
async function askMany(cmd: Command, port: number, count: number): Promise<number> {
  const runs = await Promise.all(
    Array.from({ length: count }, (_, k) =>
      run(cmd, ["send", ...(k % 2 ? ["--udp"] : []), `127.0.0.1:${port}`, `worker ${k}`]),
    ),
  );
  return runs.filter((r, k) => r.status === 0 && r.stdout === `WORKER ${k}\n`).length;
}

async function withWorkers(cmd: Command, args: string[], body: (s: Server) => Promise<void>): Promise<string> {
  const server = await startServer(cmd, ["--workers", "2", "--port", "0", "--host", "127.0.0.1", ...args]);
  try {
    await body(server);
  } finally {
    if (server.proc.exitCode === null) await server.stop();
  }
  return server.rest();
}

/** JsonServer is `serve --workers 2 --log json`: its port, the lines so far, and every line once it has stopped. */
async function startJson(cmd: Command, args: string[] = []) {
  const proc = Bun.spawn(
    [...cmd.argv, "serve", "--workers", "2", "--port", "0", "--host", "127.0.0.1", "--log", "json", ...args],
    {
      stdout: "ignore",
      stderr: "pipe",
      env: { ...cmd.env, NO_COLOR: "1" },
    },
  );
  const reader = proc.stderr.getReader();
  let text = "";
  while (!text.includes('"listening"')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve --workers did not start: ${text}`);
    text += new TextDecoder().decode(value);
  }
  const ready = JSON.parse(text.split("\n")[0]!);
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += new TextDecoder().decode(value);
    }
  })();
  /** lines parses the JSON lines written so far, whole ones only. */
  const lines = (): Record<string, unknown>[] =>
    text
      .slice(0, text.lastIndexOf("\n") + 1)
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
  return {
    proc,
    ready,
    port: ready.port as number,
    lines,
    /** stop sends SIGTERM and returns every JSON line written. */
    async stop(): Promise<Record<string, unknown>[]> {
      proc.kill("SIGTERM");
      await rest;
      expect(await proc.exited).toBe(0);
      return text
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
    },
  };
}

describe("the compiled binary", () => {
  test("two workers share one port over UDP and TCP, both take connections, and the last line adds them " +
    "up", async () => {
    const cmd = await compiled();
    const s = await startJson(cmd);
    expect(s.ready).toMatchObject({ event: "listening", workers: 2 });
    await waitFor("two workers", () => childrenOf(s.proc.pid).length === 2);
    const workers = childrenOf(s.proc.pid);
    expect(await askMany(cmd, s.port, 40)).toBe(40);
    const lines = await s.stop();
    const closes = lines.filter((l) => l.event === "close");
    expect(closes.length).toBe(20);
    // The kernel spreads connections by their addresses and ports: with 20, both get some.
    expect(new Set(closes.map((c) => c.worker))).toEqual(new Set([0, 1]));
    expect(lines.at(-1)).toMatchObject({ event: "stopped", connections: 20, datagrams_in: 20, datagrams_out: 20 });
    // No worker is left behind.
    expect(workers.filter((pid) => Bun.spawnSync(["kill", "-0", String(pid)]).exitCode === 0)).toEqual([]);
  }, 60_000);

  test("a worker that dies is restarted; the others serve meanwhile; the last line counts the restart", async () => {
    const cmd = await compiled();
    const rest = await withWorkers(cmd, [], async (s) => {
      await waitFor("two workers", () => childrenOf(s.proc.pid).length === 2);
      const [victim] = childrenOf(s.proc.pid);
      process.kill(victim!, "SIGKILL");
      await waitFor("a new worker in its place", () => {
        const now = childrenOf(s.proc.pid);
        return now.length === 2 && !now.includes(victim!);
      });
      expect(await askMany(cmd, s.port, 10)).toBe(10);
    });
    expect(rest).toMatch(/^upcat: worker \d exited \(signal SIGKILL\); restarting in 100ms \(1 restart\)$/m);
    expect(rest).toMatch(/SIGTERM: stopped, 1 worker restart\n$/);
  }, 60_000);

  test("a parent killed with SIGKILL leaves no worker behind, and the port is free for the next upcat", async () => {
    const cmd = await compiled();
    const first = await startServer(cmd, ["--workers", "2", "--port", "0", "--host", "127.0.0.1", "--tcp"]);
    await waitFor("two workers", () => childrenOf(first.proc.pid).length === 2);
    const workers = childrenOf(first.proc.pid);
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    const alive = () => workers.filter((pid) => Bun.spawnSync(["kill", "-0", String(pid)]).exitCode === 0);
    await waitFor("the orphaned workers to stop", () => alive().length === 0, 5000);
    const again = await startServer(cmd, ["--port", String(first.port), "--host", "127.0.0.1", "--tcp"]);
    try {
      const r = await run(cmd, ["send", `127.0.0.1:${first.port}`, "still here"]);
      expect(r.stdout).toBe("STILL HERE\n");
    } finally {
      await again.stop();
    }
  }, 60_000);

  test("SIGTERM lets each worker drain a connection in progress; --stats adds up every worker", async () => {
    const cmd = await compiled();
    const s = await startJson(cmd, ["--stats", "100ms"]);
    await waitFor("two workers", () => childrenOf(s.proc.pid).length === 2);
    expect(await askMany(cmd, s.port, 10)).toBe(10);
    // Stats come every 100ms from each worker; the parent's line adds them up once both have counted.
    await waitFor("a stats line with every worker's count", () =>
      s.lines().some((l) => l.event === "stats" && l.connections === 5 && l.datagrams_in === 5),
    );
    const chunks: string[] = [];
    const closed = Promise.withResolvers<void>();
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port: s.port,
      socket: { data: (_s, d) => void chunks.push(d.toString()), close: () => closed.resolve() },
    });
    sock.write("part one,");
    await waitFor("the reply to part one", () => chunks.join("") === "PART ONE,");
    const stopping = s.stop();
    // Draining: every worker has let go of LISTEN, so part two comes while the connection is in progress.
    await waitFor("the workers to stop listening", () => !listening(s.port));
    sock.write(" part two");
    sock.shutdown();
    await closed.promise;
    expect(chunks.join("")).toBe("PART ONE, PART TWO");
    const lines = await stopping;
    expect(lines.some((l) => l.event === "stats" && l.connections === 5 && l.datagrams_in === 5)).toBe(true);
    expect(lines.at(-1)).toMatchObject({ event: "stopped", cut: 0, connections: 6, datagrams_in: 5 });
  }, 60_000);

  test("a port another server holds is refused before any worker starts, exit 1", async () => {
    const cmd = await compiled();
    const first = await startServer(cmd, ["--tcp", "--port", "0", "--host", "127.0.0.1"]);
    try {
      const r = await run(cmd, [
        "serve",
        "--workers",
        "2",
        "--tcp",
        "--port",
        String(first.port),
        "--host",
        "127.0.0.1",
      ]);
      expect(r).toMatchObject({
        status: 1,
        stderr:
          `upcat: bind tcp 127.0.0.1:${first.port}: address already in use (is another server running? try ` +
          `--port)\n`,
      });
    } finally {
      await first.stop();
    }
  }, 60_000);
});

describe("from source", () => {
  test.each([["0"], ["-1"], ["two"], ["257"], [""]])("--workers %p is refused, exit 2", async (value) => {
    const r = await run(fromSource, ["serve", "--workers", value]);
    expect(r).toMatchObject({ status: 2, stdout: "" });
    expect(r.stderr).toMatch(/^upcat: invalid --workers: ".*" \(expected a whole number from 1 to 256\)\n$/);
  });

  test("two workers started from source answer too (a source run restarts itself with its script)", async () => {
    const rest = await withWorkers(fromSource, [], async (s) => {
      expect(await askMany(fromSource, s.port, 6)).toBe(6);
    });
    expect(rest).toMatch(/SIGTERM: stopped\n$/);
  }, 60_000);
});
