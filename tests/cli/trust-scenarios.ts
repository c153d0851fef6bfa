// What a user typed is what reaches the wire, a mistyped target is an error, and a closed pipe stops
// every command quietly: run against the source (tests/cli) and the compiled binary (tests/e2e).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRecorder, type Recorder } from "../peers/recorder.ts";
import { freePort, requireTool } from "../support/peers.ts";
import { onTerminal, run, startServer, type Command, type Server } from "../support/run.ts";

/** NUMBER_LIKE are words cac's parser used to rewrite (007 → 7, '' → 0, ' 5 ' → 5) or swallow (true, false). */
export const NUMBER_LIKE = [
  "007",
  "0x10",
  "1e3",
  " 5 ",
  "",
  "0",
  "true",
  "false",
  "NaN",
  "Infinity",
  "0b11",
  "+5",
  ".5",
  "1_000",
  "0220",
  "220.0",
];

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

export function trustScenarios(command: () => Promise<Command> | Command): void {
  let cmd: Command;
  let recorder: Recorder;
  let server: Server;
  beforeAll(async () => {
    cmd = await command();
    recorder = await startRecorder();
    server = await startServer(cmd, ["--port", "0", "--host", "127.0.0.1"]);
  }, 120_000);
  afterAll(async () => {
    recorder?.stop();
    await server?.stop();
  });

  describe("number-like words reach the wire as typed, after any option", () => {
    test.each(NUMBER_LIKE)("send --udp %p", async (word) => {
      const r = await run(cmd, ["send", "--udp", `udp://127.0.0.1:${recorder.port}`, word]);
      expect(r).toMatchObject({ status: 0, stderr: "" });
      expect(await recorder.next()).toEqual({ transport: "udp", bytes: new TextEncoder().encode(word) });
      expect(r.stdout).toBe(`${word}\n`);
    });

    test.each(NUMBER_LIKE)("send --tcp --json %p", async (word) => {
      const r = await run(cmd, ["send", "--tcp", "--json", `127.0.0.1:${recorder.port}`, word]);
      expect(r).toMatchObject({ status: 0, stderr: "" });
      expect(text((await recorder.next()).bytes)).toBe(word);
      expect(JSON.parse(r.stdout)).toMatchObject({ sent: new TextEncoder().encode(word).length, reply: word });
    });

    test.each(NUMBER_LIKE.filter((w) => w !== ""))("check --send %p --expect %p", async (word) => {
      const r = await run(cmd, ["check", "--json", "--send", word, "--expect", word, `127.0.0.1:${recorder.port}`]);
      expect(r).toMatchObject({ status: 0, stderr: "" });
      expect(JSON.parse(r.stdout)).toMatchObject({ state: "open", reply: word });
      expect(text((await recorder.next()).bytes)).toBe(word);
    });

    test("--expect compares text: 0220 and 220.0 do not match a 220 banner (check_tcp -e 0220: WARNING)", async () => {
      const banner = await startRecorder(new TextEncoder().encode("220 hello\r\n"));
      try {
        for (const expect_ of ["0220", "220.0", " 220"]) {
          const r = await run(cmd, ["check", "--timeout", "300ms", "--expect", expect_, `127.0.0.1:${banner.port}`]);
          expect(r.status).toBe(1);
          const nagios = await run(cmd, [
            "check",
            "--nagios",
            "--timeout",
            "300ms",
            "--expect",
            expect_,
            `127.0.0.1:${banner.port}`,
          ]);
          expect(nagios.stdout).not.toMatch(/ OK /);
          expect(nagios.status).not.toBe(0);
        }
        const good = await run(cmd, ["check", "--timeout", "1s", "--expect", "220", `127.0.0.1:${banner.port}`]);
        expect(good.status).toBe(0);
      } finally {
        banner.stop();
      }
    });

    test("file names that look like numbers are opened as typed: --file 007, --quotes 1e3", async () => {
      const dir = mkdtempSync(join(tmpdir(), "upcat-numbers-"));
      try {
        writeFileSync(join(dir, "007"), `127.0.0.1:${recorder.port}\n`);
        const r = await run(cmd, ["check", "--file", "007"], { cwd: dir });
        expect(r.status).toBe(0);
        // The check's handshake reached the recorder, with nothing sent.
        expect(await recorder.next()).toEqual({ transport: "tcp", bytes: new Uint8Array(0) });
        writeFileSync(join(dir, "1e3"), "a quote from a file named 1e3\n");
        const s = await startServer(cmd, ["--protocol", "qotd=0", "--quotes", "1e3", "--host", "127.0.0.1"], {
          cwd: dir,
        });
        try {
          const q = await run(cmd, ["send", "--protocol", "qotd", `127.0.0.1:${s.port}`]);
          expect(q).toMatchObject({ status: 0, stdout: "a quote from a file named 1e3\r\n" });
        } finally {
          await s.stop();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test.each(["true", "false"])(
      "a flag never swallows the next word: --udp %p is the message, sent over UDP",
      async (word) => {
        const r = await run(cmd, ["send", `127.0.0.1:${recorder.port}`, "--udp", word]);
        expect(r).toMatchObject({ status: 0, stdout: `${word}\n`, stderr: "" });
        expect(await recorder.next()).toEqual({ transport: "udp", bytes: new TextEncoder().encode(word) });
      },
    );
  });

  describe("numeric options take exact numbers and name themselves when they do not", () => {
    test.each([
      [["serve", "--port", ""], 'upcat: invalid port "" (expected a number from 0 to 65535)\n'],
      [["serve", "--port", " 5 "], 'upcat: invalid port " 5 " (expected a number from 0 to 65535)\n'],
      [["serve", "--port", "-1"], 'upcat: invalid port "-1" (expected a number from 0 to 65535)\n'],
      [["send", "--timeout", "-1", "x"], 'upcat: invalid duration for --timeout: "-1" (expected e.g. 500ms, 2s, 1m)\n'],
      [["send", "--timeout", "", "x"], 'upcat: invalid duration for --timeout: "" (expected e.g. 500ms, 2s, 1m)\n'],
      [["send", "--retries", "-1", "x"], 'upcat: invalid --retries: "-1" (expected a whole number from 0 to 100)\n'],
      [
        ["send", "--retries", "0x10", "x"],
        'upcat: invalid --retries: "0x10" (expected a whole number from 0 to 100)\n',
      ],
      [
        ["bench", "--concurrency", "100000"],
        'upcat: invalid --concurrency: "100000" (expected a whole number from 1 to 10000)\n',
      ],
      [
        ["bench", "--concurrency", "0"],
        'upcat: invalid --concurrency: "0" (expected a whole number from 1 to 10000)\n',
      ],
      [["check", "--retries=1e3", "h:1"], 'upcat: invalid --retries: "1e3" (expected a whole number from 0 to 100)\n'],
      [["--bogus"], "upcat: unknown option `--bogus` (see upcat --help)\n"],
      [["-v"], "upcat: unknown option `-v` (see upcat --help)\n"],
    ])("a malformed number names its option, exit 2 (case %#)", async (args, stderr) => {
      const r = await run(cmd, args);
      expect(r).toMatchObject({ status: 2, stdout: "", stderr });
    });

    test(
      "serve --host with a name that does not resolve says so, exit 1 (in a namespace with no network, so no " +
        "query leaves)",
      async () => {
        const isolated = { ...cmd, argv: [requireTool("unshare"), "-rn", "--", ...cmd.argv] };
        const r = await run(isolated, ["serve", "--host", "nosuch.invalid", "--port", "0"]);
        expect(r).toMatchObject({ status: 1, stdout: "" });
        expect(r.stderr).toMatch(
          /^upcat: resolve (udp|tcp) nosuch\.invalid: .+ \(give an address of this machine, or :: for all\)\n$/,
        );
      },
    );

    test("bench on a refused port says what send says", async () => {
      const port = await freePort();
      const r = await run(cmd, ["bench", "--duration", "200ms", `127.0.0.1:${port}`]);
      expect(r).toMatchObject({
        status: 1,
        stdout: "",
        stderr: `upcat: connect tcp 127.0.0.1:${port}: connection refused (is a server running there?)\n`,
      });
    });

    test("upcat help and upcat help COMMAND print the help, exit 0", async () => {
      const all = await run(cmd, ["help"]);
      expect(all.status).toBe(0);
      expect(all.stdout).toContain("Commands:");
      const send = await run(cmd, ["help", "send"]);
      expect(send.status).toBe(0);
      expect(send.stdout).toContain("$ upcat send [target] [...message]");
      const bad = await run(cmd, ["help", "frobnicate"]);
      expect(bad).toMatchObject({ status: 2, stderr: 'upcat: unknown command "frobnicate" (try upcat --help)\n' });
    });
  });

  describe("send never guesses: a word that looks like a target is one", () => {
    test.each([
      "host:",
      "[::1",
      "::1:12000",
      "db:abc",
      "localhost:1200O",
      "127.0.0.1:-1",
      "udp://",
      "http://127.0.0.1:80",
      "[nothost]:80",
    ])("send %p hi → exit 2, and how to send it as text", async (word) => {
      const r = await run(cmd, ["send", word, "hi"]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.split("\n")).toHaveLength(2);
      expect(r.stderr).toStartWith(`upcat: invalid target "${word}": `);
      expect(r.stderr).toContain("; to send it as text: upcat send -- ");
    });

    test("after --, such words are the message, sent as typed", async () => {
      const r = await run(cmd, ["send", `127.0.0.1:${recorder.port}`, "--", "host:", "-x", "[::1"]);
      expect(r).toMatchObject({ status: 0, stdout: "host: -x [::1\n", stderr: "" });
      expect(text((await recorder.next()).bytes)).toBe("host: -x [::1");
    });

    test("check and bench read targets with the same parser and the same words", async () => {
      for (const sub of ["check", "bench"]) {
        const r = await run(cmd, [sub, "db:abc"]);
        expect(r).toMatchObject({ status: 2, stdout: "" });
        expect(r.stderr).toStartWith('upcat: invalid target "db:abc": port "abc" is not a number from 1 to 65535');
      }
    });
  });

  describe("replies end in a newline, as the textbook's print() ends them", () => {
    test("piped: one reply a line, appended to a log without running together", async () => {
      const a = await run(cmd, ["send", `127.0.0.1:${server.port}`, "one"]);
      const b = await run(cmd, ["send", "--udp", `127.0.0.1:${server.port}`, "two"]);
      expect(a.stdout + b.stdout).toBe("ONE\nTWO\n");
    });

    test("--binary keeps the reply's bytes alone", async () => {
      const r = await run(cmd, ["send", "--binary", `127.0.0.1:${server.port}`, "one"]);
      expect(r.stdout).toBe("ONE");
    });

    test("on a terminal, ^D ends the prompt's line so the shell prompt starts on its own", async () => {
      const { status, screen } = await onTerminal(cmd, ["send", `127.0.0.1:${server.port}`], "hi\n");
      expect(status).toBe(0);
      expect(screen).toEndWith("Input lowercase sentence:\r\n");
    });
  });

  describe("a closed pipe stops every command at once: exit 0, nothing on stderr", () => {
    // upcat between a feeder and a reader that stops early, as in a runbook; its own status is what counts
    // (under pipefail a feeder such as yes dies of SIGPIPE when upcat stops, which is not upcat's doing).
    const pipeline = async (args: string[], reader: string, input?: string) => {
      const quoted = [...cmd.argv, ...args].map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
      const feed = input === undefined ? "" : `${input} | `;
      const index = input === undefined ? 0 : 1;
      const err = "/tmp/upcat-pipe-$$.err";
      const script =
        `${feed}${quoted} 2>${err} | ${reader} >/dev/null; status=\${PIPESTATUS[${index}]}; ` +
        `cat ${err} >&2; rm -f ${err}; exit $status`;
      const proc = Bun.spawn([requireTool("bash"), "-c", script], {
        stdout: "pipe",
        stderr: "pipe",
        env: { ...cmd.env, PATH: `${cmd.env.PATH}:/usr/bin:/bin`, NO_COLOR: "1" },
      });
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const [stderr, status] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      clearTimeout(timer);
      return { status, stderr };
    };

    test("send --protocol chargen | head -c 200", async () => {
      const s = await startServer(cmd, ["--protocol", "chargen=0", "--host", "127.0.0.1"]);
      try {
        expect(await pipeline(["send", "--protocol", "chargen", `127.0.0.1:${s.port}`], "head -c 200")).toEqual({
          status: 0,
          stderr: "",
        });
      } finally {
        await s.stop();
      }
    });

    test.each(["--tcp", "--udp"])("yes hello | send %s | head -n 1", async (flag) => {
      expect(await pipeline(["send", flag, `127.0.0.1:${server.port}`], "head -n 1", "yes hello")).toEqual({
        status: 0,
        stderr: "",
      });
    });

    test("seq 1 200000 | send --udp | head -n 2", async () => {
      expect(await pipeline(["send", "--udp", `127.0.0.1:${server.port}`], "head -n 2", "seq 1 200000")).toEqual({
        status: 0,
        stderr: "",
      });
    });

    test("check over 2000 ports, text and --json | head -n 1", async () => {
      const closed = await freePort();
      for (const form of [[], ["--json"]]) {
        const r = await pipeline(
          ["check", ...form, "--timeout", "1s", `127.0.0.1:${server.port},${closed}`, `127.0.0.1:1-2000`],
          "head -n 1",
        );
        expect(r).toEqual({ status: 0, stderr: "" });
      }
    });

    test.each([[["protocols"]], [["--help"]], [["--version"]], [["help", "check"]]])(
      "upcat %p | true",
      async (args) => {
        expect(await pipeline(args, "true")).toEqual({ status: 0, stderr: "" });
      },
    );

    test("bench | true", async () => {
      expect(await pipeline(["bench", "--duration", "300ms", `127.0.0.1:${server.port}`], "true")).toEqual({
        status: 0,
        stderr: "",
      });
    });
  });
}
