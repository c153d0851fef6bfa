// Flags given a value and words that are not UTF-8: a clear usage error, never a crash, a shifted word or U+FFFD.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Recorder, startRecorder } from "../support/recorder.ts";
import { registeredCli } from "../support/commands.ts";
import { fromSource, run } from "../support/run.ts";

/** longName is an option's long form as typed: "-q, --quiet" → "--quiet". */
function longName(rawName: string): string {
  return rawName.split(/[ ,]+/).find((n) => n.startsWith("--"))!;
}

/** FLAGS are every option of every command that takes no value, read from the commands' own registrations. */
function flagsOf(): { command: string; flag: string }[] {
  return registeredCli().commands.flatMap((c) =>
    c.options
      .filter((o) => o.isBoolean && o.name !== "help")
      .map((o) => ({ command: c.name, flag: longName(o.rawName) })),
  );
}

let rec: Recorder;
beforeAll(async () => {
  rec = await startRecorder();
});
afterAll(() => rec.stop());

describe("a flag written with a value", () => {
  const flags = flagsOf();

  test("every command has flags to try (the registrations were read)", () => {
    expect(flags.length).toBeGreaterThan(20);
    expect(flags).toContainEqual({ command: "check", flag: "--json" });
    expect(flags).toContainEqual({ command: "send", flag: "--udp" });
  });

  test.each(flags.map((f) => [f.command, f.flag] as const))(
    "%s %s=1: exit 2 (3 under --nagios), one line naming the flag, nothing sent",
    async (command, flag) => {
      const before = rec.received().length;
      const target = `127.0.0.1:${rec.port}`;
      const args =
        command === "relay"
          ? [command, `${flag}=1`, "127.0.0.1:0", target]
          : command === "serve"
            ? [command, `${flag}=1`, "--port", "0"]
            : [command, `${flag}=1`, target, "x"];
      const r = await run(fromSource, args, { timeoutMs: 10_000 });
      if (flag === "--nagios") {
        expect(r.status).toBe(3);
        expect(r.stdout).toBe(`UPCAT UNKNOWN - ${flag} takes no value, not "1" (write ${flag} alone)\n`);
      } else {
        expect(r.status).toBe(2);
        expect(r.stderr).toBe(`upcat: ${flag} takes no value, not "1" (write ${flag} alone)\n`);
      }
      expect(rec.received().length).toBe(before);
    },
  );

  test("--json=true is --json, --json=false leaves it off; what is sent is the message typed", async () => {
    const target = `127.0.0.1:${rec.port}`;
    const on = await run(fromSource, ["send", "--json=true", target, "one"]);
    expect(on.status).toBe(0);
    expect(JSON.parse(on.stdout)).toMatchObject({ reply: "one" });
    const off = await run(fromSource, ["send", "--json=false", target, "two"]);
    expect(off).toMatchObject({ status: 0, stdout: "two\n" });
  });

  test("found by the attacker: send --json=x HOST x sends nothing to localhost:12000 or anywhere", async () => {
    const before = rec.received().length;
    const r = await run(fromSource, ["send", "--json=x", `127.0.0.1:${rec.port}`, "x"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('upcat: --json takes no value, not "x" (write --json alone)\n');
    expect(rec.received().length).toBe(before);
  });

  test("the value quoted is cut and escaped: --json=<100 000 characters and an escape sequence>", async () => {
    const r = await run(fromSource, ["check", `--json=\u001b]0;owned\u0007${"v".repeat(100_000)}`, "127.0.0.1:1"]);
    expect(r.status).toBe(2);
    expect(r.stderr.length).toBeLessThan(300);
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(r.stderr).toStartWith('upcat: --json takes no value, not "\\e]0;owned\\x07vvv');
  });
});

describe("a word that is not UTF-8", () => {
  /** viaShell runs upcat with words made of raw bytes, which only a shell's printf can put in argv. */
  async function viaShell(words: string) {
    const proc = Bun.spawn(["bash", "-c", `exec "$@" ${words}`, "bash", ...fromSource.argv], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...fromSource.env, NO_COLOR: "1" },
    });
    const [stdout, stderr, status] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { stdout, stderr, status };
  }

  test.each(["tcp", "udp"])("send over %s: exit 2 naming the bytes; nothing reaches the wire", async (t) => {
    const before = rec.received().length;
    const r = await viaShell(`send ${t}://127.0.0.1:${rec.port} ok "$(printf 'a\\xff\\xfeb')"`);
    expect(r.status).toBe(2);
    expect(r.stderr).toStartWith('upcat: word 4 of the command line is not valid UTF-8 ("a\\xff\\xfeb")');
    expect(rec.received().length).toBe(before);
    expect(rec.received()).not.toContain("\uFFFD");
  });

  test("a check target or option value that is not UTF-8 is refused the same way", async () => {
    const r = await viaShell(`check 127.0.0.1:${rec.port} --expect "$(printf '\\xc3')"`);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('word 4 of the command line is not valid UTF-8 ("\\xc3")');
  });

  test("U+FFFD typed as such (valid UTF-8) is sent as typed", async () => {
    const r = await run(fromSource, ["send", `127.0.0.1:${rec.port}`, "a\uFFFDb"]);
    expect(r).toMatchObject({ status: 0, stdout: "a\uFFFDb\n" });
    expect(rec.received()).toContain("a\uFFFDb");
  });
});
