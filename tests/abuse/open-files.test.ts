// A server with more clients than open files: past its limit (ulimit -n) accept fails with EMFILE, and Bun's listener
// retried it at once, for ever: `serve` under `ulimit -n 64` with 100 clients spun a whole core (197 ticks of CPU in
// 2 s) and said nothing. --max-connections is now lowered to what the limit holds (and said, where it was given), so
// a connection past it is accepted and closed at once (over-limit), as --max-connections always did.
// bench's TCP connections and the exporter's probes are lowered the same way: past the limit, a connection that
// could not be made was counted as the server's error, or a probe of an answering port as probe_success 0.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { requireTool, runPeer } from "../support/peers.ts";
import { type Command, fromSource, run, startServer, type Server } from "../support/run.ts";
import { spawnUntil } from "../support/stderr-until.ts";

/** limited is upcat under `ulimit -n 64`. */
const limited: Command = {
  argv: ["bash", "-c", 'ulimit -n 64; exec "$@"', "bash", ...fromSource.argv],
  env: fromSource.env,
};

/** cpuTicks is the CPU a process has used (user and system, in clock ticks: 100 a second). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * CLIENTS holds N connections open for 3 s (python3), then asks the first 5 (hi) and prints how many answered HI.
 */
const CLIENTS =
  "import socket,sys,time\nport,n=int(sys.argv[1]),int(sys.argv[2])\n" +
  "socks=[socket.create_connection(('127.0.0.1',port),timeout=3) for i in range(n)]\n" +
  "print('held',flush=True)\ntime.sleep(3)\nok=0\nfor s in socks[:5]:\n  s.sendall(b'hi\\n')\n" +
  "  try: ok+=s.recv(10)==b'HI\\n'\n  except Exception: pass\nprint('answered',ok,flush=True)\n" +
  "for s in socks: s.close()\n";

/** start runs `upcat ARGS` under the limit and waits for its ready line (`serving` or `relaying`). */
async function start(args: string[], until = /(serving|relaying) .*\n/) {
  return spawnUntil([...limited.argv, ...args], { env: { ...limited.env, NO_COLOR: "1" }, until });
}

/** held runs CLIENTS against port and measures the server's CPU while they are held. */
async function held(pid: number, port: number, n: number) {
  const clients = Bun.spawn([requireTool("python3"), "-c", CLIENTS, String(port), String(n)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = clients.stdout.getReader();
  const decoder = new TextDecoder();
  let said = "";
  while (!said.includes("\n")) {
    const { value, done } = await out.read();
    if (done) break;
    said += decoder.decode(value);
  }
  expect({ said, stderr: said === "held\n" ? "" : await new Response(clients.stderr).text() }).toEqual({
    said: "held\n",
    stderr: "",
  });
  const t0 = cpuTicks(pid);
  await Bun.sleep(2000);
  const ticks = cpuTicks(pid) - t0;
  for (;;) {
    const { value, done } = await out.read();
    if (done) break;
    said += decoder.decode(value);
  }
  expect(await clients.exited).toBe(0);
  return { ticks, answered: said.slice("held\n".length).trim() };
}

describe("more clients than open files (ulimit -n 64)", () => {
  let backend: Server;
  beforeAll(async () => {
    backend = await startServer(fromSource, ["--tcp", "--port", "0", "--max-per-address", "0"]);
  });
  afterAll(async () => {
    await backend.stop();
  });

  test("serve: the default --max-connections lowered to 48, quietly; 100 clients held cost no CPU", async () => {
    const s = await start(["serve", "--tcp", "--port", "0", "--max-per-address", "0"]);
    try {
      expect(s.head).toMatch(/^upcat: serving upper on tcp /);
      const port = Number(/serving upper on tcp \S+:(\d+)/.exec(s.head)![1]);
      const { ticks, answered } = await held(s.proc.pid, port, 100);
      expect(answered).toBe("answered 5");
      // Before: 197 ticks (two seconds of a core) spinning on accept.
      expect(ticks).toBeLessThan(50);
      // The oracle: netcat is answered once the crowd has gone.
      expect((await runPeer([requireTool("nc"), "-q1", "127.0.0.1", String(port)], "hello\n")).stdout).toBe("HELLO\n");
    } finally {
      s.proc.kill("SIGTERM");
    }
    await s.proc.exited;
    expect(await s.rest()).toMatch(
      // What lifts it is the open-file limit: a higher --max-connections would be lowered again.
      new RegExp(
        String.raw`^upcat: refusing: over-limit \d+ \(lift with a higher open-file limit: ulimit -n is 64\)\n(.*\n)*` +
          String.raw`upcat: SIGTERM: stopped \(refused: over-limit 52\)\n$`,
      ),
    );
  }, 30_000);

  test("serve --log json --max-connections 5000: the lowering is an event", async () => {
    const s = await start(["serve", "--tcp", "--port", "0", "--log", "json", "--max-connections", "5000"], /\n/);
    s.proc.kill("SIGTERM");
    await s.proc.exited;
    const first = JSON.parse(s.head.split("\n")[0]!);
    expect(first).toMatchObject({ event: "lowered", option: "max-connections", from: 5000, to: 48, open_files: 64 });
  });

  test("relay --max-connections 1000: two files a connection, lowered to 24, said; 60 held cost no CPU", async () => {
    const r = await start([
      "relay",
      "tcp://127.0.0.1:0",
      `tcp://127.0.0.1:${backend.port}`,
      "--max-per-address",
      "0",
      "--max-connections",
      "1000",
    ]);
    try {
      expect(r.head.split("\n")[0]).toBe(
        "upcat: --max-connections 1000 lowered to 24: this process may have 64 files open (ulimit -n)",
      );
      const port = Number(/relaying tcp 127\.0\.0\.1:(\d+)/.exec(r.head)![1]);
      const { ticks, answered } = await held(r.proc.pid, port, 60);
      expect(answered).toBe("answered 5");
      expect(ticks).toBeLessThan(50);
    } finally {
      r.proc.kill("SIGTERM");
    }
    await r.proc.exited;
  }, 30_000);

  test("bench --concurrency 500: lowered to 48 connections, and said; no errors blamed on the server", async () => {
    const args = ["bench", `tcp://127.0.0.1:${backend.port}`, "--duration", "1s", "--concurrency", "500", "--json"];
    const { stdout, stderr, status } = await run(limited, args);
    expect(stderr).toBe(
      "upcat: --concurrency 500 lowered to 48: each load process may have 64 files open (ulimit -n)\n",
    );
    // Before (ulimit -n 128): 379 of 500 connections were errors (no socket), counted against the server.
    expect(JSON.parse(stdout)).toMatchObject({ concurrency: 48, errors: 0 });
    expect(status).toBe(0);
  }, 20_000);

  test("exporter: --max-concurrent lowered to 16, said; 300 probes, 60 at once: up or 503, never down", async () => {
    const e = await start(["exporter", "--listen", "127.0.0.1:0", "--allow-target", "127.0.0.1"], /listening on .*\n/);
    try {
      expect(e.head.split("\n")[0]).toBe(
        "upcat exporter: --max-concurrent 100 lowered to 16: this process may have 64 files open (ulimit -n)",
      );
      const at = /listening on (http:\/\/\S+) /.exec(e.head)![1]!;
      const url = `${at}/probe?target=127.0.0.1:${backend.port}&module=tcp`;
      const scrapes =
        "import collections,concurrent.futures,sys,urllib.request\n" +
        "def probe(i):\n  try:\n    with urllib.request.urlopen(sys.argv[1], timeout=10) as r:\n" +
        "      return [l for l in r.read().decode().splitlines() if l.startswith('probe_success')][0]\n" +
        "  except urllib.error.HTTPError as e:\n    return str(e.code)\n" +
        "with concurrent.futures.ThreadPoolExecutor(60) as ex:\n" +
        "  for k, n in sorted(collections.Counter(ex.map(probe, range(300))).items()): print(k, n)\n";
      const r = await runPeer([requireTool("python3"), "-c", scrapes, url], undefined, 30_000);
      // Before: 193 of 300 were "probe_success 0", a target that answered reported down.
      const counted = r.stdout
        .trim()
        .split("\n")
        .map((l) => [l.replace(/ \d+$/, ""), Number(l.split(" ").at(-1))]);
      const seen = Object.fromEntries(counted);
      expect(Object.keys(seen).filter((k) => k !== "probe_success 1" && k !== "503")).toEqual([]);
      expect(seen["probe_success 1"]).toBeGreaterThan(0);
    } finally {
      e.proc.kill("SIGTERM");
    }
    await e.proc.exited;
  }, 40_000);
});
