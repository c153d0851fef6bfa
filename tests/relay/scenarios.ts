// `upcat relay` as users run it, with peers nobody here wrote on both sides (the textbook's Python programs, nc,
// socat): for source and the compiled binary.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort, requireTool, runPeer, startPeer, waitForListening } from "../support/peers.ts";
import { type Command, run, type Server, startServer } from "../support/run.ts";
import { waitFor } from "../support/wait.ts";
import { type RelayProcess, startRelayProcess } from "./process.ts";

const TEXTBOOK = new URL("../peers/textbook/", import.meta.url).pathname;
const PEERS = new URL("./peers/", import.meta.url).pathname;

/** jsonLines reads what a relay said after its ready line with --log json. */
const jsonLines = (rest: string) =>
  rest
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

/** relayScenarios registers the tests; `command` starts upcat (from source, or the compiled binary). */
export function relayScenarios(command: () => Promise<Command> | Command): void {
  let cmd: Command;
  let upper: Server;
  beforeAll(async () => {
    cmd = await command();
    upper = await startServer(cmd, ["--port", "0", "--host", "127.0.0.1"]);
  }, 120_000);
  afterAll(() => upper?.stop());

  const python = () => requireTool("python3");
  const nc = () => requireTool("nc");
  const socat = () => requireTool("socat");

  /** through starts a relay for one test and stops it after, even on failure. */
  async function through(
    args: string[],
    body: (r: RelayProcess) => Promise<void>,
  ): Promise<{ status: number; rest: string }> {
    const r = await startRelayProcess(cmd, args);
    const failed = await body(r).then(
      () => undefined,
      (err: unknown) => err,
    );
    const stopped = await r.stop();
    if (failed) throw failed;
    return stopped;
  }

  describe("bad input: exit 2, one line naming what is wrong, before any socket opens", () => {
    test.each([
      [["udp://127.0.0.1:0", "udp://127.0.0.1:9", "--loss", "150%"], /^upcat: invalid --loss "150%"/],
      [["127.0.0.1:0", "127.0.0.1:9", "--delay", "-1s"], /^upcat: invalid duration for --delay: "-1s"/],
      [
        ["127.0.0.1:0", "127.0.0.1:9", "--delay=down:50ms±80ms"],
        /^upcat: invalid --delay "50ms±80ms": the jitter cannot exceed the delay/,
      ],
      [[":abc", "127.0.0.1:9"], /^upcat: invalid LISTEN ":abc"/],
      [["127.0.0.1:0", "backend"], /^upcat: invalid TARGET "backend": missing port/],
      [["udp://:0", "tcp://127.0.0.1:9"], /^upcat: LISTEN is udp and TARGET is tcp/],
      [["127.0.0.1:0", "127.0.0.1:9", "--loss", "1%"], /^upcat: --loss is for UDP relays, not TCP/],
      [["udp://127.0.0.1:0", "127.0.0.1:9", "--chunk", "1"], /^upcat: --chunk is for TCP relays, not UDP/],
      [["127.0.0.1:0", "127.0.0.1:9", "--reset-after", "1m"], /^upcat: invalid --reset-after "1m": m is ambiguous/],
      [["127.0.0.1:0", "127.0.0.1:9", "--max-connections", "-1"], /^upcat: invalid --max-connections: "-1"/],
      [["127.0.0.1:0", "127.0.0.1:9", "--idle-timeout", "soon"], /^upcat: invalid duration for --idle-timeout: "soon"/],
      [["127.0.0.1:0", "127.0.0.1:9", "--max-pending", "0x10"], /^upcat: invalid size for --max-pending: "0x10"/],
      [
        ["127.0.0.1:0", "127.0.0.1:9", "--allow", "127.0.0.1/8"],
        /^upcat: invalid --allow "127\.0\.0\.1\/8": host bits are set/,
      ],
      [["127.0.0.1:0", "127.0.0.1:9", "--log", "xml"], /^upcat: invalid --log "xml"/],
      [["127.0.0.1:0", "127.0.0.1:9", "--seed", "1e3"], /^upcat: invalid --seed: "1e3"/],
      [
        ["127.0.0.1:0", "127.0.0.1:9", "--connect-timeout", "soon"],
        /^upcat: invalid duration for --connect-timeout: "soon"/,
      ],
      [["127.0.0.1:0"], /^upcat: missing required args for command `relay <LISTEN> <TARGET>`/],
      [["127.0.0.1:0", "127.0.0.1:9", "--max-per-address", "x"], /^upcat: invalid --max-per-address: "x"/],
      [["127.0.0.1:0", "127.0.0.1:9", "--max-lifetime", "-1s"], /^upcat: invalid duration for --max-lifetime: "-1s"/],
      [["udp://127.0.0.1:0", "127.0.0.1:9", "--udp-reply-rate", "1.5"], /^upcat: invalid --udp-reply-rate: "1\.5"/],
      [["udp://127.0.0.1:0", "127.0.0.1:9", "--reorder", "1"], /^upcat: invalid --reorder: "1" \(expected a whole/],
      [["udp://127.0.0.1:0", "127.0.0.1:9", "--duplicate", "150"], /^upcat: invalid --duplicate "150" \(expected a/],
      [["udp://127.0.0.1:0", "127.0.0.1:9", "--duplicate", "--duplicate"], /^upcat: --duplicate is given twice/],
      [["udp://127.0.0.1:0", "127.0.0.1:9", "--duplicate", "lots"], /^upcat: unused args: `lots`/],
      [["127.0.0.1:0", "127.0.0.1:9", "--reorder"], /^upcat: --reorder is for UDP relays, not TCP/],
    ])("a malformed relay command line exits 2 with one line (case %#)", async (args, message) => {
      const r = await run(cmd, ["relay", ...args], { timeoutMs: 10_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^upcat: [^\n]*\n$/);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    });

    test("LISTEN on a port in use: exit 1, one line naming the bind and what to do", async () => {
      const held = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
      try {
        const r = await run(cmd, ["relay", `127.0.0.1:${held.port}`, "127.0.0.1:9"], { timeoutMs: 10_000 });
        expect(r.status).toBe(1);
        expect(r.stderr).toBe(
          `upcat: bind tcp 127.0.0.1:${held.port}: address already in use (is another server running? pick another ` +
            `LISTEN port)\n`,
        );
      } finally {
        held.stop(true);
      }
    });
  });

  describe("TCP through the relay", () => {
    test(
      "the textbook's TCPClient.py to upcat serve; --log json has an open and a close with bytes both ways; " +
        "SIGTERM stops it with exit 0",
      async () => {
        const stopped = await through(["127.0.0.1:0", `127.0.0.1:${upper.port}`, "--log", "json"], async (r) => {
          expect(JSON.parse(r.ready)).toMatchObject({
            event: "listening",
            protocol: "relay",
            transport: "tcp",
            port: r.port,
            target: `127.0.0.1:${upper.port}`,
            faults: [],
          });
          const out = await runPeer(
            [python(), `${TEXTBOOK}TCPClient.py`, "127.0.0.1", String(r.port)],
            "through the relay, straße\n",
          );
          expect(out).toMatchObject({
            status: 0,
            stdout: "Input lowercase sentence:From Server: THROUGH THE RELAY, STRASSE\n",
            stderr: "",
          });
          // The client has gone; the relay logs the close once both ends are down, which SIGTERM must not overtake.
          await waitFor("the relay's close event", () => r.said().includes('"event":"close"'), 5000);
        });
        expect(stopped.status).toBe(0);
        const events = stopped.rest
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l));
        expect(events.map((e) => e.event)).toEqual(["open", "close", "stopped", "relay"]);
        expect(events[1]).toMatchObject({
          transport: "tcp",
          peer: "127.0.0.1",
          bytes_in: 26,
          bytes_out: 26,
          reason: "done",
          faults: [],
        });
      },
    );

    test(
      "nc -N to a socat server running tr, through --chunk 3 both ways and --delay down:20ms: " + "byte-exact",
      async () => {
        const port = await freePort();
        const server = Bun.spawn([socat(), `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, "EXEC:tr a-z A-Z"], {
          stdout: "ignore",
          stderr: "ignore",
        });
        try {
          await waitForListening("tcp", port);
          await through(
            ["127.0.0.1:0", `127.0.0.1:${port}`, "--chunk", "3", "--delay", "down:20ms", "--seed", "42"],
            async (r) => {
              expect(r.ready).toBe(
                `upcat: relaying tcp 127.0.0.1:${r.port} to 127.0.0.1:${port} ` +
                  "with up chunk 3B, down delay 20ms, down chunk 3B (seed 42) (Ctrl-C to stop)",
              );
              const input = "first line\nsecond line, much longer than three bytes\n";
              const out = await runPeer([nc(), "-N", "127.0.0.1", String(r.port)], input);
              expect(out).toMatchObject({ status: 0, stdout: input.toUpperCase() });
            },
          );
        } finally {
          server.kill();
        }
      },
    );

    test(
      "socat as the client, nc -l as the target, over IPv6: both directions, and the target's " + "half-close",
      async () => {
        const port = await freePort();
        const target = Bun.spawn([nc(), "-6", "-N", "-l", "::1", String(port)], {
          stdin: new Blob(["from the target\n"]),
          stdout: "pipe",
          stderr: "ignore",
        });
        try {
          await waitForListening("tcp", port);
          await through(["[::1]:0", `[::1]:${port}`], async (r) => {
            const out = await runPeer([socat(), "-t", "5", "-", `TCP6:[::1]:${r.port}`], "from the client\n");
            expect(out).toMatchObject({ status: 0, stdout: "from the target\n" });
            expect(await new Response(target.stdout).text()).toBe("from the client\n");
          });
        } finally {
          target.kill();
        }
      },
    );

    test("a target that refuses: the client is reset, and the text log says so in one line", async () => {
      const closed = await freePort();
      const stopped = await through(["127.0.0.1:0", `127.0.0.1:${closed}`], async (r) => {
        const out = await run(cmd, ["send", "--timeout", "2s", `127.0.0.1:${r.port}`, "hello"]);
        expect(out.status).toBe(1);
        expect(out.stderr).toMatch(/connection reset by peer|closed by peer/);
      });
      expect(stopped.rest).toMatch(
        new RegExp(
          `^upcat: relay tcp 127\\.0\\.0\\.1:\\d+ to 127\\.0\\.0\\.1:${closed}: connection refused \\(client ` +
            `reset\\)\\n`,
        ),
      );
      expect(stopped.rest).toMatch(
        /upcat: relayed up 0 bytes forwarded( \(5 dropped\))?, down 0 bytes forwarded; target failures 1\n$/,
      );
    });

    test("--reset-after down:5: upcat send gets 5 bytes, then a reset (exit 1)", async () => {
      await through(["127.0.0.1:0", `127.0.0.1:${upper.port}`, "--reset-after", "down:5"], async (r) => {
        const out = await run(cmd, ["send", "--timeout", "2s", `127.0.0.1:${r.port}`, "hello world"]);
        expect(out.status).toBe(1);
        expect(out.stdout).toBe("HELLO");
        expect(out.stderr).toMatch(/connection reset by peer/);
      });
    });
  });

  describe("serve's options on the relay", () => {
    test(
      "--max-per-address 1: python3's second connection from 127.0.0.1 is closed at once, one from 127.0.0.2 " +
        "is served; the json log has the limit and the count",
      async () => {
        const stopped = await through(
          ["127.0.0.1:0", `127.0.0.1:${upper.port}`, "--max-per-address", "1", "--log", "json"],
          async (r) => {
            const out = await runPeer([python(), `${PEERS}per_address.py`, String(r.port)]);
            expect(out).toMatchObject({ status: 0, stdout: "ONE\nb''\nOTHER\n", stderr: "" });
          },
        );
        const events = jsonLines(stopped.rest);
        expect(events.filter((e) => e.event === "limit")).toMatchObject([
          { transport: "tcp", limit: "max-per-address", peer: "127.0.0.1" },
        ]);
        expect(events.find((e) => e.event === "stopped")).toMatchObject({ connections: 2, per_address: 1 });
      },
    );

    test(
      "--udp-reply-rate 20: python3 sends 100 datagrams and gets about 20 back, the rest counted; with 0, all " + "100",
      async () => {
        const count = async (rate: string) => {
          let got = 0;
          let took = 0;
          const stopped = await through(
            ["udp://127.0.0.1:0", `127.0.0.1:${upper.port}`, "--udp-reply-rate", rate, "--log", "json"],
            async (r) => {
              const out = await runPeer([python(), `${PEERS}udp_count.py`, String(r.port), "100"]);
              expect(out).toMatchObject({ status: 0, stderr: "" });
              [got, took] = out.stdout.trim().split(" ").map(Number) as [number, number];
            },
          );
          return { got, took, stopped: jsonLines(stopped.rest).find((e) => e.event === "stopped") };
        };
        const capped = await count("20");
        expect(capped.got).toBeGreaterThanOrEqual(20);
        expect(capped.got).toBeLessThanOrEqual(20 + Math.ceil(20 * capped.took) + 1);
        expect(capped.stopped).toMatchObject({
          datagrams_in: 100,
          datagrams_out: capped.got,
          reply_limited: 100 - capped.got,
        });
        const open = await count("0");
        expect(open.got).toBe(100);
        expect(open.stopped).toMatchObject({ datagrams_out: 100, reply_limited: 0 });
      },
    );

    test(
      "--stats 100ms prints serve's stats lines; --drain 400ms lets an open connection go on, then cuts " + "it",
      async () => {
        const r = await startRelayProcess(cmd, [
          "127.0.0.1:0",
          `127.0.0.1:${upper.port}`,
          "--stats",
          "100ms",
          "--drain",
          "400ms",
        ]);
        const held = await Bun.connect({ hostname: "127.0.0.1", port: r.port, socket: { data() {} } });
        try {
          await waitFor("a stats line counting the held connection", () =>
            /^upcat: stats: 1 open, 1 connections, /m.test(r.said()),
          );
          const started = performance.now();
          const stopped = await r.stop();
          const took = performance.now() - started;
          expect(stopped.status).toBe(0);
          expect(stopped.rest).toMatch(/^upcat: stats: 1 open, 1 connections, /m);
          expect(stopped.rest).toMatch(/^upcat: draining 1 connection \(up to 400ms; signal again to stop now\)$/m);
          expect(stopped.rest).toMatch(/^upcat: SIGTERM: stopped, 1 connection cut$/m);
          expect(took).toBeGreaterThanOrEqual(380);
          expect(took).toBeLessThan(400 + 2000);
        } finally {
          held.terminate();
        }
      },
    );
  });

  describe("UDP through the relay", () => {
    test("the textbook's UDPClient.py to the textbook's UDPServer.py", async () => {
      const { proc, match } = await startPeer([python(), `${TEXTBOOK}UDPServer.py`, "0"], /ready to receive (\d+)\n/);
      try {
        await through(["udp://127.0.0.1:0", `udp://127.0.0.1:${match[1]}`], async (r) => {
          expect(r.ready).toMatch(/^upcat: relaying udp 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+ \(Ctrl-C to stop\)$/);
          const out = await runPeer([python(), `${TEXTBOOK}UDPClient.py`, "127.0.0.1", String(r.port)], "datagram ﬁ\n");
          expect(out).toMatchObject({ status: 0, stdout: "Input lowercase sentence:DATAGRAM FI\n", stderr: "" });
        });
      } finally {
        proc.kill();
      }
    });

    test(
      "nc -u to upcat serve with --duplicate down:100%: each reply comes back twice; the json close has the " +
        "counts",
      async () => {
        const stopped = await through(
          [
            "udp://127.0.0.1:0",
            `127.0.0.1:${upper.port}`,
            "--duplicate",
            "down:100%",
            "--log",
            "json",
            "--idle-timeout",
            "300ms",
          ],
          async (r) => {
            const out = await runPeer([nc(), "-u", "-w", "1", "127.0.0.1", String(r.port)], "twice\n");
            expect(out.stdout).toBe("TWICE\nTWICE\n");
          },
        );
        const close = stopped.rest
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l))
          .find((e) => e.event === "close");
        expect(close).toMatchObject({
          transport: "udp",
          reason: "idle",
          datagrams_in: 1,
          datagrams_out: 2,
          faults: ["down duplicate 100%"],
        });
      },
    );

    test(
      "nc -u to upcat serve with a bare --duplicate: the server hears the line twice, and each reply comes " + "twice",
      async () => {
        const stopped = await through(
          ["udp://127.0.0.1:0", `127.0.0.1:${upper.port}`, "--duplicate", "--log", "json", "--idle-timeout", "300ms"],
          async (r) => {
            const out = await runPeer([nc(), "-u", "-w", "1", "127.0.0.1", String(r.port)], "twice\n");
            expect(out.stdout).toBe("TWICE\n".repeat(4));
          },
        );
        expect(jsonLines(stopped.rest).find((e) => e.event === "close")).toMatchObject({
          datagrams_in: 1,
          forwarded_up: 2,
          datagrams_out: 4,
          faults: ["up duplicate 100%", "down duplicate 100%"],
        });
      },
    );

    test("python3 to a python3 target with a bare --reorder: four datagrams arrive in swapped pairs", async () => {
      const { proc, match } = await startPeer([python(), `${PEERS}udp_order.py`, "4"], /ready (\d+)\n/);
      try {
        await through(["udp://127.0.0.1:0", `udp://127.0.0.1:${match[1]}`, "--reorder"], async (r) => {
          expect(r.ready).toMatch(/ with up reorder 2, down reorder 2 \(seed \d+\)/);
          const send =
            "import socket, sys\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n" +
            "for k in range(1, 5): s.sendto(str(k).encode(), ('127.0.0.1', int(sys.argv[1])))\n";
          expect(await runPeer([python(), "-c", send, String(r.port)])).toMatchObject({ status: 0 });
          // The target exits once it has heard four; startPeer has read up to its ready line.
          const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
          let heard = "";
          for (let c = await reader.read(); !c.done; c = await reader.read())
            heard += new TextDecoder().decode(c.value);
          expect(heard).toBe("2\n1\n4\n3\n");
        });
      } finally {
        proc.kill();
      }
    });
  });
}
