// netcat's letters beside their long forms: the same bytes on the wire, the same result; bundles as getopt reads them;
// and "did you mean" for options and commands that do not exist.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startRecorder, type Recorder } from "../peers/recorder.ts";
import { registeredCli } from "../support/commands.ts";
import { fromSource, run, startServer } from "../support/run.ts";

let rec: Recorder;
beforeAll(async () => {
  rec = await startRecorder();
});
afterAll(() => rec?.stop());

/** timeless makes a line's timings alike: 0.4ms and 12.3ms both read as Nms. */
const timeless = (text: string) => text.replace(/\d+(\.\d+)?(ms|s)\b/g, "N$2");

describe("send: each letter sends what its long form sends", () => {
  test.each([
    [["-u"], ["--udp"]],
    [
      ["-w", "2"],
      ["--timeout", "2"],
    ],
    [["-w2"], ["--timeout", "2s"]],
    [["-e"], ["--escapes"]],
    [["-v"], ["--verbose"]],
    [
      ["-uev", "-w", "1"],
      ["--udp", "--escapes", "--verbose", "--timeout", "1s"],
    ],
    [["-uw1"], ["--udp", "--timeout=1"]],
  ])("%j is %j", async (short, long) => {
    const sent = async (flags: string[]) => {
      const r = await run(fromSource, ["send", ...flags, `127.0.0.1:${rec.port}`, "a\\tb\\x21 007"]);
      return { status: r.status, stdout: r.stdout, stderr: timeless(r.stderr), arrival: await rec.next() };
    };
    const a = await sent(short);
    expect(a.status).toBe(0);
    expect(a).toEqual(await sent(long));
  });

  test("-v says where the message went; without it stderr is empty", async () => {
    const target = `127.0.0.1:${rec.port}`;
    const v = await run(fromSource, ["send", "-v", target, "hi"]);
    await rec.next();
    expect(v.stderr).toMatch(
      new RegExp(`^upcat: tcp 127\\.0\\.0\\.1:${rec.port}: 2 bytes sent, 2 back in [\\d.]+ms\\n$`),
    );
    const quiet = await run(fromSource, ["send", target, "hi"]);
    await rec.next();
    expect(quiet.stderr).toBe("");
    expect(quiet.stdout).toBe(v.stdout);
  });
});

describe("check: each letter gives what its long form gives", () => {
  const target = () => `127.0.0.1:${rec.port}`;
  test.each([
    [
      ["-u", "--send", "x"],
      ["--udp", "--send", "x"],
    ],
    [
      ["-w", "1"],
      ["--timeout", "1s"],
    ],
    [["-q"], ["--quiet"]],
    [["-v"], ["--verbose"]],
    [["-z"], ["--zero"]],
    [["-zv"], []],
    [
      ["-zvw", "2"],
      ["--timeout", "2"],
    ],
  ])("%j is %j", async (short, long) => {
    const checked = async (flags: string[]) => {
      const r = await run(fromSource, ["check", ...flags, target()]);
      // A UDP probe is a datagram the recorder keeps; a TCP check only connects.
      if (flags.includes("--send")) await rec.next();
      return { status: r.status, stdout: timeless(r.stdout), stderr: timeless(r.stderr) };
    };
    const a = await checked(short);
    expect(a.status).toBe(0);
    expect(a).toEqual(await checked(long));
  });
});

describe("serve: -u is --udp, -q is --quiet", () => {
  test("-u serves UDP only, as --udp says it", async () => {
    const ready = async (flag: string) => {
      const server = await startServer(fromSource, ["--host", "127.0.0.1", "--port", "0", flag]);
      await server.stop();
      return server.ready.replace(String(server.port), "PORT");
    };
    expect(await ready("-u")).toBe(await ready("--udp"));
  });
});

describe("help, man page and completions show each letter beside its long form", () => {
  const rawNames = new Map(registeredCli().commands.map((c) => [c.name, c.options.map((o) => o.rawName)]));
  test.each([
    ["serve", "-u, --udp"],
    ["serve", "-q, --quiet"],
    ["relay", "-q, --quiet"],
    ["send", "-u, --udp"],
    ["send", "-w, --timeout <duration>"],
    ["send", "-e, --escapes"],
    ["send", "-v, --verbose"],
    ["check", "-u, --udp"],
    ["check", "-w, --timeout <duration>"],
    ["check", "-q, --quiet"],
    ["check", "-v, --verbose"],
    ["check", "-z, --zero"],
    ["bench", "-u, --udp"],
    ["bench", "-w, --timeout <duration>"],
  ])("%s %s", (command, flags) => {
    expect(rawNames.get(command)).toContain(flags);
  });

  test("send --help lists -e and -v; no command has one letter twice", async () => {
    const r = await run(fromSource, ["send", "--help"]);
    expect(r.stdout).toContain("  -e, --escapes ");
    expect(r.stdout).toContain("  -v, --verbose ");
    for (const [command, names] of rawNames) {
      const letters = names.flatMap((n) => n.match(/^-[a-zA-Z](?=,)/g) ?? []);
      expect({ command, letters: [...new Set(letters)] }).toEqual({ command, letters });
    }
  });
});

describe("did you mean", () => {
  test.each([
    [["check", "--expct", "x", "db:1"], "unknown option `--expct` (did you mean --expect? see upcat check --help)"],
    [["send", "--tiemout", "2s", "hi"], "unknown option `--tiemout` (did you mean --timeout? see upcat send --help)"],
    [["check", "-udp", "db:1"], "unknown option `-udp` (did you mean --udp? see upcat check --help)"],
    [["send", "-z", "db", "5432"], "unknown option `-z` (nc -z is upcat check HOST:PORT; see upcat send --help)"],
    [["-z", "db", "5432"], "unknown option `-z` (nc -z is upcat check HOST:PORT; see upcat --help)"],
    [["send", "-q", "hi"], "unknown option `-q` (-q is --quiet of serve, relay, check; see upcat send --help)"],
    [["send", "--bogus"], "unknown option `--bogus` (see upcat send --help)"],
    [["chek", "db:1"], 'unknown command "chek" (did you mean check? try upcat --help)'],
    [["sned", "hi"], 'unknown command "sned" (did you mean send? try upcat --help)'],
    [["help", "serv"], 'unknown command "serv" (did you mean serve? try upcat --help)'],
    [["frobnicate"], 'unknown command "frobnicate" (try upcat --help)'],
  ])("%j", async (argv, message) => {
    const r = await run(fromSource, argv);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 2,
      stdout: "",
      stderr: `upcat: ${message}\n`,
    });
  });

  test("under --nagios, an unknown option is UNKNOWN (3) and still names the nearest", async () => {
    const r = await run(fromSource, ["check", "--nagios", "--expct", "x", "db:1"]);
    expect(r.status).toBe(3);
    expect(r.stdout).toContain("did you mean --expect?");
  });

  test("--help after an unknown option is still the help", async () => {
    const r = await run(fromSource, ["send", "--bogus", "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Usage:");
  });
});
