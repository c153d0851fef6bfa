// The command-line scenarios, run against whatever starts upcat: the source (tests/cli) or the compiled binary
// (tests/e2e).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { freePort, requireTool } from "../support/peers.ts";
import { onTerminal, run, startServer, type Command, type Server } from "../support/run.ts";

/** cliScenarios registers every scenario; `command` is awaited once, before the first test. */
export function cliScenarios(command: () => Promise<Command> | Command): void {
  let cmd: Command;
  let server: Server;
  beforeAll(async () => {
    cmd = await command();
    server = await startServer(cmd, ["--port", "0"]);
  }, 120_000);
  afterAll(() => server?.stop());

  describe("serve and send", () => {
    test("the ready line names both transports on all interfaces", () => {
      expect(server.ready).toBe(
        `upcat: serving upper on udp [::]:${server.port} and tcp [::]:${server.port} (Ctrl-C to stop)`,
      );
    });

    test.each([
      ["tcp", (p: number) => `127.0.0.1:${p}`],
      ["tcp6", (p: number) => `[::1]:${p}`],
      ["udp", (p: number) => `udp://127.0.0.1:${p}`],
      ["udp6", (p: number) => `udp://[::1]:${p}`],
      ["tcp by name", (p: number) => `tcp://localhost:${p}`],
    ])("%s: the reply is exactly the uppercased message", async (_name, target) => {
      const r = await run(cmd, ["send", target(server.port), "hello,", "straße", "ﬁ"]);
      expect(r).toMatchObject({ status: 0, stdout: "HELLO, STRASSE FI\n", stderr: "" });
    });

    test("piped stdin: one request a line, terminators kept, the last line ended as print() ends it", async () => {
      const input = "one\ntwo\r\nthree";
      for (const flag of ["--udp", "--tcp"]) {
        const r = await run(cmd, ["send", flag, `127.0.0.1:${server.port}`], { stdin: input });
        expect(r).toMatchObject({ status: 0, stdout: "ONE\nTWO\r\nTHREE\n", stderr: "" });
        const exact = await run(cmd, ["send", "--binary", flag, `127.0.0.1:${server.port}`], { stdin: input });
        expect(exact).toMatchObject({ status: 0, stdout: "ONE\nTWO\r\nTHREE", stderr: "" });
      }
    });

    test("invalid UTF-8 comes back byte for byte", async () => {
      const r = await run(cmd, ["send", "--udp", `127.0.0.1:${server.port}`], {
        stdin: new Uint8Array([0x61, 0xff, 0x62, 0x0a]),
      });
      expect([...r.stdoutBytes]).toEqual([0x41, 0xff, 0x42, 0x0a]);
    });

    test("--json gives one line with the reply, bytes and round-trip time", async () => {
      const r = await run(cmd, ["send", "--json", `udp://[::1]:${server.port}`, "hi"]);
      expect(r.status).toBe(0);
      expect(r.stdout.endsWith("\n")).toBe(true);
      const record = JSON.parse(r.stdout);
      expect(record).toMatchObject({
        target: `udp://[::1]:${server.port}`,
        proto: "udp",
        address: "::1",
        port: server.port,
        reply: "HI",
        bytes: 2,
        attempts: 1,
      });
      expect(typeof record.rtt_ms).toBe("number");
    });

    test("a 65507-byte UDP message round-trips; 65508 is a usage error", async () => {
      const ok = await run(cmd, ["send", "--udp", `127.0.0.1:${server.port}`], { stdin: "a".repeat(65507) });
      expect(ok.status).toBe(0);
      expect(ok.stdout).toBe(`${"A".repeat(65507)}\n`);
      const big = await run(cmd, ["send", "--udp", `127.0.0.1:${server.port}`], { stdin: "a".repeat(65508) });
      expect(big.status).toBe(2);
      expect(big.stderr).toBe(
        "upcat: message is 65508 bytes; a UDP datagram carries at most 65507 (use --tcp for more)\n",
      );
    });

    test("on a terminal, send prompts as the textbook does and ends each reply with a newline", async () => {
      const { status, screen } = await onTerminal(cmd, ["send", `127.0.0.1:${server.port}`], "hello tty\n");
      expect(status).toBe(0);
      expect(screen).toContain("Input lowercase sentence:");
      expect(screen).toContain("HELLO TTY\r\n");
    });

    test("SIGTERM and SIGINT stop the server cleanly, exit 0", async () => {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        const s = await startServer(cmd, ["--tcp", "--port", "0", "--host", "127.0.0.1"]);
        s.proc.kill(signal);
        expect(await s.proc.exited).toBe(0);
        const rest = await s.rest();
        expect(rest).toBe(`upcat: ${signal}: stopped\n`);
      }
    });
  });

  describe("errors: one line on stderr, the right status", () => {
    test.each([
      [["frobnicate"], 2, 'upcat: unknown command "frobnicate" (try upcat --help)\n'],
      [[], 2, "upcat: missing command (try upcat --help)\n"],
      [["send", "--bogus"], 2, "upcat: unknown option `--bogus` (see upcat send --help)\n"],
      [
        ["send", "host:0", "x"],
        2,
        'upcat: invalid target "host:0": port "0" is not a number from 1 to 65535 (expected host:port, ' +
          "tcp://host:port or udp://[::1]:port); to send it as text: upcat send -- host:0 x\n",
      ],
      [
        ["send", "host:70000", "x"],
        2,
        'upcat: invalid target "host:70000": port "70000" is not a number from 1 to 65535 (expected host:port, ' +
          "tcp://host:port or udp://[::1]:port); to send it as text: upcat send -- host:70000 x\n",
      ],
      [["send", "--udp", "--tcp", "x"], 2, "upcat: --udp and --tcp cannot be used together\n"],
      [["send", "--udp", "tcp://h:1", "x"], 2, "upcat: tcp://h:1 is a tcp target and cannot be used with --udp\n"],
      [
        ["send", "--timeout", "soon", "x"],
        2,
        'upcat: invalid duration for --timeout: "soon" (expected e.g. 500ms, 2s, 1m)\n',
      ],
      [["serve", "--port", "abc"], 2, 'upcat: invalid port "abc" (expected a number from 0 to 65535)\n'],
      [["serve", "--port", "70000"], 2, 'upcat: invalid port "70000" (expected a number from 0 to 65535)\n'],
      [["serve", "--protocol", "gopher"], 2, null],
      [["send", "--protocol", "gopher", "x"], 2, null],
      [
        ["serve", "--protocol", "echo", "--protocol", "time", "--port", "9"],
        2,
        "upcat: --port is for one protocol; give each its port as --protocol NAME=PORT\n",
      ],
      [["serve", "--protocol", "echo", "--protocol", "echo=9"], 2, "upcat: --protocol echo is given twice\n"],
      [
        ["serve", "--protocol", "echo=5000", "--protocol", "time=5000"],
        2,
        "upcat: two protocols cannot share a port; give each its own as --protocol NAME=PORT\n",
      ],
      [["serve", "--protocol", "echo=70000"], 2, 'upcat: invalid port "70000" (expected a number from 0 to 65535)\n'],
      [["serve", "--quotes", "q.txt"], 2, "upcat: --quotes is for --protocol qotd\n"],
      [
        ["serve", "--protocol", "qotd", "--quotes", "/nonexistent/q.txt"],
        2,
        "upcat: cannot read --quotes /nonexistent/q.txt: ENOENT\n",
      ],
      [
        ["serve", "--allow", "10.0.0.0/33"],
        2,
        'upcat: invalid --allow "10.0.0.0/33" (expected an address or CIDR, as in 10.0.0.0/8 or ::1/128)\n',
      ],
      [
        ["serve", "--udp-rate", "lots"],
        2,
        'upcat: invalid --udp-rate: "lots" (expected a whole number from 0 to 1000000)\n',
      ],
      [["send", "--protocol", "time", "host:37", "extra"], 2, 'upcat: time servers take no message; drop "extra"\n'],
      [
        ["send", "--raw", "x"],
        2,
        "upcat: --raw is for protocols whose replies are read for you, such as time; upper replies are printed as " +
          "they are\n",
      ],
      [
        ["send", "--bytes", "10", "x"],
        2,
        "upcat: --bytes is for protocols that talk until you stop them, such as chargen\n",
      ],
    ])("a wrong command line is one line on stderr and its status (case %#)", async (args, status, stderr) => {
      const r = await run(cmd, args as string[]);
      expect(r.status).toBe(status as number);
      expect(r.stdout).toBe("");
      if (stderr) expect(r.stderr).toBe(stderr as string);
      else expect(r.stderr).toMatch(/^upcat: .*gopher.*\n$/);
    });

    test("connection refused, exit 1", async () => {
      const port = await freePort();
      const r = await run(cmd, ["send", `127.0.0.1:${port}`, "x"]);
      expect(r).toMatchObject({
        status: 1,
        stdout: "",
        stderr: `upcat: connect tcp 127.0.0.1:${port}: connection refused (is a server running there?)\n`,
      });
    });

    test("UDP to a closed port is refused at once, exit 1", async () => {
      const port = await freePort("udp");
      const r = await run(cmd, ["send", "--timeout", "5s", `udp://127.0.0.1:${port}`, "x"]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^upcat: read udp 127\\.0\\.0\\.1:${port}: connection refused \\(nothing is listening on that port\\)\\n$`,
        ),
      );
    });

    test("unknown host, exit 1 (in a network namespace with nothing up, so no query leaves)", async () => {
      const isolated = { ...cmd, argv: [requireTool("unshare"), "-rn", "--", ...cmd.argv] };
      const r = await run(isolated, ["send", "no-such-host.invalid:12000", "x"]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /^upcat: resolve tcp no-such-host\.invalid: .+ \(check the name, or use an IP address\)\n$/,
      );
    });

    test("port already in use, exit 1, and the hint", async () => {
      const r = await run(cmd, ["serve", "--port", String(server.port)]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(
        `upcat: bind udp [::]:${server.port}: address already in use (is another server running? try --port)\n`,
      );
    });
  });

  describe("help and version", () => {
    test("--help shows the commands and examples, exit 0", async () => {
      const r = await run(cmd, ["--help"]);
      expect(r.status).toBe(0);
      for (const word of ["serve", "send", "protocols", "Examples:", "upcat send hello"])
        expect(r.stdout).toContain(word);
    });

    test("--version and -V print the version", async () => {
      for (const flag of ["--version", "-V"]) {
        const r = await run(cmd, [flag]);
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/^upcat \d+\.\d+\.\d+ \(\S+\)\n$/);
      }
    });

    test("protocols lists each protocol with its port and RFC", async () => {
      const r = await run(cmd, ["protocols"]);
      expect(r.status).toBe(0);
      for (const [name, port, spec] of [
        ["upper", 12000, "Kurose"],
        ["echo", 7, "RFC 862"],
        ["discard", 9, "RFC 863"],
        ["chargen", 19, "RFC 864"],
        ["qotd", 17, "RFC 865"],
        ["daytime", 13, "RFC 867"],
        ["time", 37, "RFC 868"],
      ]) {
        expect(r.stdout).toMatch(new RegExp(`^${name}\\s+${port}\\s+${spec}`, "m"));
      }
    });

    test("serve --protocol qotd --quotes FILE serves those quotes", async () => {
      const file = `${tmpdir()}/upcat-quotes-${process.pid}.txt`;
      await Bun.write(file, "the only quote\n");
      const s = await startServer(cmd, ["--protocol", "qotd", "--quotes", file, "--port", "0", "--host", "127.0.0.1"]);
      try {
        for (const target of [`127.0.0.1:${s.port}`, `udp://127.0.0.1:${s.port}`]) {
          const r = await run(cmd, ["send", "--protocol", "qotd", target]);
          expect(r).toMatchObject({ status: 0, stdout: "the only quote\r\n", stderr: "" });
        }
      } finally {
        await s.stop();
        rmSync(file, { force: true });
      }
    });
  });
}
