// upcat bench through the compiled binary, against the compiled server on loopback: shape and counts, never speed.
import { expect, test } from "bun:test";
import { compiled } from "../support/binary.ts";
import { run } from "../support/run.ts";

test("the compiled upcat bench loads a compiled upcat serve over UDP and TCP, with one load process and " +
  "with two, and prints one JSON object each", async () => {
  const cmd = await compiled();
  // A load test from one address lifts the per-prefix and per-address bounds, as the README says.
  const server = Bun.spawn(
    [
      ...cmd.argv,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--log",
      "json",
      "--udp-reply-rate",
      "0",
      "--max-per-address",
      "0",
    ],
    {
      env: { ...cmd.env, NO_COLOR: "1" },
      stdout: "ignore",
      stderr: "pipe",
    },
  );
  try {
    // The ready line names the port the kernel chose.
    const reader = server.stderr.getReader();
    let text = "";
    const ports: Record<string, number> = {};
    while (!(ports.udp && ports.tcp)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`server ended: ${text}`);
      text += new TextDecoder().decode(value);
      for (const m of text.matchAll(/"(?:proto|transport)":"(udp|tcp)"[^\n]*?"port":(\d+)/g))
        ports[m[1]!] = Number(m[2]);
    }
    // --workers 2: the binary starts itself again as its load processes (argv[1] is its embedded entry).
    for (const [transport, workers] of [
      ["udp", "1"],
      ["tcp", "1"],
      ["udp", "2"],
      ["tcp", "2"],
    ] as const) {
      const ran = await run(
        cmd,
        [
          "bench",
          `${transport}://127.0.0.1:${ports[transport]}`,
          "--duration",
          "500ms",
          "--concurrency",
          "8",
          "--size",
          "32",
          "--workers",
          workers,
          "--json",
        ],
        { timeoutMs: 20_000 },
      );
      expect(ran.stderr).toBe("");
      expect(ran.status).toBe(0);
      const lines = ran.stdout.trim().split("\n");
      expect(lines).toHaveLength(1);
      const r = JSON.parse(lines[0]!);
      expect(r).toMatchObject({
        target: `${transport}://127.0.0.1:${ports[transport]}`,
        proto: transport,
        concurrency: 8,
        workers: Number(workers),
        size: 32,
        errors: 0,
      });
      expect(r.replies).toBeGreaterThan(0);
      expect(r.bytes_in).toBe(r.replies * 32);
      for (const k of ["rate", "p50_ms", "p99_ms", "max_ms", "duration_ms"]) expect(typeof r[k]).toBe("number");
    }
    const refused = await run(cmd, ["bench", "127.0.0.1:1", "--duration", "200ms"], { timeoutMs: 20_000 });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("tcp 127.0.0.1:1: connection refused");
    const wrong = await run(cmd, ["bench", "127.0.0.1:1", "--concurrency", "x"], { timeoutMs: 20_000 });
    expect(wrong.status).toBe(2);
  } finally {
    server.kill("SIGTERM");
    await server.exited;
  }
}, 240_000);
