// relay --workers: N processes of upcat relay on one LISTEN (SO_REUSEPORT), from source, with real sockets on
// loopback: bytes stay right, every worker logs with its tag, the last lines add them up, SIGTERM drains, a killed
// worker comes back, UDP sessions stay with their client.
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import type { Relay } from "../../src/relay/relay.ts";
import { fromSource, run } from "../support/run.ts";
import { alive, childrenOf, waitFor, within } from "../support/wait.ts";
import { Cleanup, concat, tcpClient, udpClient, udpTarget } from "./harness.ts";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** bound counts the sockets bound to a loopback port (t: TCP listening, u: UDP), from ss. */
function bound(port: number, kind: "t" | "u"): number {
  const ss = Bun.spawnSync(["ss", `-Hn${kind}l`, `( sport = :${port} )`]);
  return ss.stdout.toString().split("\n").filter(Boolean).length;
}

/** Workers is a running `upcat relay --workers 2`: its port, its pid, and what it has said so far. */
interface Workers {
  pid: number;
  port: number;
  text(): string;
  /** stop sends SIGTERM and resolves with the exit status and every line written. */
  stop(): Promise<{ status: number; text: string }>;
}

/** startWorkers runs `upcat relay ARGS --workers 2` and resolves once both workers have bound LISTEN. */
async function startWorkers(args: string[], kind: "t" | "u" = "t"): Promise<Workers> {
  const proc = Bun.spawn([...fromSource.argv, "relay", ...args, "--workers", "2"], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    env: { ...fromSource.env, NO_COLOR: "1" },
  });
  cleanup.add(() => {
    for (const pid of childrenOf(proc.pid)) process.kill(pid, "SIGKILL");
    proc.kill("SIGKILL");
  });
  let text = "";
  const decoder = new TextDecoder();
  const read = (async () => {
    for await (const chunk of proc.stderr) text += decoder.decode(chunk);
  })();
  await waitFor("the ready line", () => text.includes("\n") || proc.exitCode !== null, 15_000);
  const ready = text.split("\n")[0]!;
  const match = /relaying (?:tcp|udp) \S*:(\d+) to /.exec(ready) ?? /"event":"listening".*"port":(\d+)/.exec(ready);
  if (!match) throw new Error(`relay --workers did not start: ${text}`);
  const port = Number(match[1]);
  // The ready line comes with the first worker; the second may still be binding.
  await waitFor("both workers bound", () => bound(port, kind) === 2, 15_000);
  return {
    pid: proc.pid,
    port,
    text: () => text,
    async stop() {
      proc.kill("SIGTERM");
      const status = await within("relay --workers to stop", proc.exited, 15_000);
      await read;
      return { status, text };
    },
  };
}

/** json parses every line written as JSON. */
function json(text: string): Record<string, unknown>[] {
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** echoTarget is a TCP target that sends back all it reads, and half-closes after the client's FIN. */
function echoTarget(): number {
  type State = { out: Uint8Array; fin: boolean };
  const flush = (s: Socket<State>) => {
    while (s.data.out.length > 0) {
      const n = s.write(s.data.out);
      if (n <= 0) return;
      s.data.out = s.data.out.subarray(n);
    }
    if (s.data.fin) s.shutdown();
  };
  const listener = Bun.listen<State>({
    hostname: "127.0.0.1",
    port: 0,
    allowHalfOpen: true,
    socket: {
      open: (s) => void (s.data = { out: new Uint8Array(0), fin: false }),
      data(s, chunk) {
        s.data.out = concat(s.data.out, chunk);
        flush(s);
      },
      end(s) {
        s.data.fin = true;
        flush(s);
      },
      drain: (s) => flush(s),
      error() {},
    },
  });
  cleanup.add(() => listener.stop(true));
  return listener.port;
}

/** payload is n bytes that differ from one connection to the next. */
function payload(k: number, n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 31 + k * 7) & 0xff;
  return bytes;
}

describe("relay --workers 2 over TCP", () => {
  test("many connections get their own bytes back; both workers log theirs; the last lines add them up", async () => {
    const target = echoTarget();
    const r = await startWorkers(["127.0.0.1:0", `127.0.0.1:${target}`, "--log", "json"]);
    const ready = json(r.text())[0];
    expect(ready).toMatchObject({ event: "listening", protocol: "relay", port: r.port, workers: 2 });
    const sizes = Array.from({ length: 60 }, (_, k) => 1 + ((k * 7919) % 150_000));
    for (let batch = 0; batch < sizes.length; batch += 20) {
      const clients = await Promise.all(
        sizes.slice(batch, batch + 20).map((n, i) => tcpClient(cleanup, r.port, payload(batch + i, n))),
      );
      const got = await within("the echoes", Promise.all(clients.map((c) => c.done)), 15_000);
      got.forEach((rec, i) => {
        expect(rec.end).toBe("fin");
        expect(Buffer.from(rec.bytes).equals(Buffer.from(payload(batch + i, sizes[batch + i]!)))).toBe(true);
      });
    }
    const { status, text } = await r.stop();
    expect(status).toBe(0);
    const lines = json(text);
    const closes = lines.filter((l) => l.event === "close");
    expect(closes.length).toBe(60);
    expect(closes.every((c) => c.reason === "done")).toBe(true);
    // The kernel spreads connections by their addresses and ports: with 60, both get some.
    expect(new Set(closes.map((c) => c.worker))).toEqual(new Set([0, 1]));
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(lines.at(-2)).toMatchObject({ event: "stopped", cut: 0, connections: 60, bytes_in: total });
    expect(lines.at(-1)).toMatchObject({
      event: "relay",
      unit: "bytes",
      up: { forwarded: total, dropped: 0 },
      down: { forwarded: total, dropped: 0 },
      target_failed: 0,
    });
  }, 60_000);

  test("SIGTERM lets a connection in progress finish, then every worker stops", async () => {
    const target = echoTarget();
    const r = await startWorkers(["127.0.0.1:0", `127.0.0.1:${target}`]);
    const workers = childrenOf(r.pid);
    const chunks: string[] = [];
    const closed = Promise.withResolvers<void>();
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port: r.port,
      allowHalfOpen: true,
      socket: { data: (_s, d) => void chunks.push(d.toString()), close: () => closed.resolve(), error() {} },
    });
    cleanup.add(() => sock.terminate());
    sock.write("part one,");
    await waitFor("the echo of part one", () => chunks.join("") === "part one,");
    const stopping = r.stop();
    // Draining: every worker has let go of LISTEN, so part two comes while the connection is in progress.
    await waitFor("the workers to stop listening", () => bound(r.port, "t") === 0);
    sock.write(" part two");
    sock.shutdown();
    await within("the close", closed.promise, 10_000);
    expect(chunks.join("")).toBe("part one, part two");
    const { status, text } = await stopping;
    expect(status).toBe(0);
    expect(text).toMatch(/\nupcat: SIGTERM: stopped\nupcat: relayed up 18 bytes forwarded, down 18 bytes forwarded\n$/);
    expect(workers.filter((pid) => Bun.spawnSync(["kill", "-0", String(pid)]).exitCode === 0)).toEqual([]);
  }, 60_000);

  test("a worker that is killed is restarted, the relay goes on, and the last line counts the restart", async () => {
    const target = echoTarget();
    const r = await startWorkers(["127.0.0.1:0", `127.0.0.1:${target}`]);
    const [victim] = childrenOf(r.pid);
    process.kill(victim!, "SIGKILL");
    await waitFor("a new worker in its place", () => {
      const now = childrenOf(r.pid);
      return now.length === 2 && !now.includes(victim!);
    });
    await waitFor("both workers bound again", () => bound(r.port, "t") === 2, 15_000);
    const clients = await Promise.all(
      Array.from({ length: 10 }, (_, k) => tcpClient(cleanup, r.port, payload(k, 1000))),
    );
    const got = await within("the echoes", Promise.all(clients.map((c) => c.done)), 15_000);
    expect(got.map((rec) => rec.bytes.length)).toEqual(Array(10).fill(1000));
    const { status, text } = await r.stop();
    expect(status).toBe(0);
    expect(text).toMatch(/^upcat: worker \d exited \(signal SIGKILL\); restarting in 100ms \(1 restart\)$/m);
    expect(text).toEndWith(
      "\nupcat: SIGTERM: stopped, 1 worker restart\n" +
        "upcat: relayed up 10000 bytes forwarded, down 10000 bytes forwarded\n",
    );
  }, 60_000);
});

describe("relay --workers 2 whose parent is killed", () => {
  test("no worker is left holding LISTEN", async () => {
    const target = echoTarget();
    const r = await startWorkers(["127.0.0.1:0", `127.0.0.1:${target}`]);
    const workers = childrenOf(r.pid);
    expect(workers.length).toBe(2);
    process.kill(r.pid, "SIGKILL");
    await waitFor("LISTEN to be let go", () => bound(r.port, "t") === 0, 5000);
    await waitFor("the orphaned workers to end", () => workers.every((pid) => !alive(pid)));
  }, 30_000);
});

describe("relay --workers 2 over UDP", () => {
  test("each client keeps one session to the target, whichever worker has it, and the last line adds up", async () => {
    const target = await udpTarget(cleanup);
    // The target's answers ("re:" + the request) are larger than the request: 72 of them outrun --udp-rate's default.
    const args = ["udp://127.0.0.1:0", `udp://127.0.0.1:${target.port}`, "--log", "json", "--udp-rate", "1000"];
    const r = await startWorkers(args, "u");
    const clients = await Promise.all(Array.from({ length: 24 }, () => udpClient(cleanup)));
    const front = { port: r.port } as Relay;
    for (let round = 0; round < 3; round++) {
      for (const [k, c] of clients.entries()) c.send(front, `client ${k} round ${round}`);
      await waitFor(`round ${round}'s answers`, () => clients.every((c) => c.got.length === round + 1));
    }
    for (const [k, c] of clients.entries()) {
      expect(c.got.map((h) => Buffer.from(h.bytes).toString())).toEqual(
        [0, 1, 2].map((round) => `re:client ${k} round ${round}`),
      );
      // Every answer came from LISTEN: the client never sees which worker, or which session socket.
      expect(new Set(c.got.map((h) => h.port))).toEqual(new Set([r.port]));
    }
    // One session a client: its three datagrams reached the target from one port, no other client's.
    const from = new Map<string, number>();
    for (const h of target.heard)
      from.set(
        Buffer.from(h.bytes)
          .toString()
          .replace(/ round \d$/, ""),
        h.port,
      );
    expect(from.size).toBe(24);
    expect(new Set(from.values()).size).toBe(24);
    for (const h of target.heard)
      expect(
        from.get(
          Buffer.from(h.bytes)
            .toString()
            .replace(/ round \d$/, ""),
        ),
      ).toBe(h.port);

    const { status, text } = await r.stop();
    expect(status).toBe(0);
    const lines = json(text);
    const opens = lines.filter((l) => l.event === "open");
    expect(opens.length).toBe(24);
    expect(new Set(opens.map((o) => o.worker))).toEqual(new Set([0, 1]));
    expect(lines.at(-2)).toMatchObject({ event: "stopped", connections: 24, datagrams_in: 72 });
    expect(lines.at(-1)).toMatchObject({
      event: "relay",
      unit: "datagrams",
      up: { forwarded: 72, dropped: 0 },
      down: { forwarded: 72, dropped: 0 },
    });
  }, 60_000);
});

describe("bad values", () => {
  test.each([["0"], ["-1"], ["two"], ["257"], [""]])("--workers %p is refused with one line, exit 2", async (value) => {
    const r = await run(fromSource, ["relay", ":0", "127.0.0.1:9", "--workers", value]);
    expect(r).toMatchObject({ status: 2, stdout: "" });
    expect(r.stderr).toMatch(/^upcat: invalid --workers: ".*" \(expected a whole number from 1 to 256\)\n$/);
  });
});
