// Service URLs on check's command line: the options that mean nothing for them are refused, --password-file is read,
// and no output form (text, JSON, nagios, prometheus, an error) ever shows a password.
import { describe, expect, test } from "bun:test";
import { fromSource, run } from "../support/run.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PW = "Zq-s3cret-9";

describe("check with service URLs", () => {
  test.each([
    [["--udp", "dns://127.0.0.1/x"], "--udp is for host:port targets; dns://127.0.0.1/x"],
    [["--tls", "redis://127.0.0.1"], "rediss://"],
    [["--send", "PING", "redis://127.0.0.1"], "--send is for host:port targets"],
    [["--protocol", "echo", "ssh://127.0.0.1"], "--protocol is for host:port targets"],
    [["--password-file", "/etc/hostname", "127.0.0.1:1"], "--password-file is for service URLs"],
    [["127.0.0.1:1 --password-file /etc/hostname"], "--password-file is for service URLs"],
    [["redis://127.0.0.1 --password-file /no/such/file"], "cannot read --password-file /no/such/file"],
    [["postgres://u:x@127.0.0.1:0/db"], 'port "0"'],
  ])("%j is a usage error", async (args, words) => {
    const r = await run(fromSource, ["check", ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(words);
    expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(r.stdout).toBe("");
  });

  test("an empty --password-file is refused, and a password file's content is never echoed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "upcat-pwfile-"));
    await Bun.write(`${dir}/empty`, "\n");
    await Bun.write(`${dir}/pw`, `${PW}\nsecond line\n`);
    const empty = await run(fromSource, ["check", "--password-file", `${dir}/empty`, "redis://127.0.0.1:1"]);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain("the first line is empty");
    for (const output of ["--json", "--nagios", "--prometheus", "--quiet"]) {
      const r = await run(fromSource, ["check", output, "--password-file", `${dir}/pw`, "redis://127.0.0.1:1"]);
      expect(r.status).toBeGreaterThan(0);
      expect(r.stdout + r.stderr).not.toContain(PW);
    }
  });

  test.each(["--json", "--nagios", "--prometheus", "--text"])(
    "%s never shows a URL's password: user:***@ instead",
    async (output) => {
      const args = output === "--text" ? [] : [output];
      const r = await run(fromSource, [
        "check",
        ...args,
        `postgres://app:${PW}@127.0.0.1:1/db`,
        `redis://:${PW}@127.0.0.1:1/0`,
        `amqp://guest:${PW}@127.0.0.1:1/`,
      ]);
      expect(r.status).toBe(output === "--nagios" ? 2 : 1);
      const all = r.stdout + r.stderr;
      expect(all).not.toContain(PW);
      expect(all).toContain("postgres://app:***@127.0.0.1:1/db");
      expect(all).toContain("redis://:***@127.0.0.1:1/0");
    },
  );

  test("a closed port is closed for a service URL too, as check_tcp says of the port", async () => {
    const r = await run(fromSource, ["check", "--json", "redis://127.0.0.1:1", "postgres://127.0.0.1:1"]);
    expect(r.status).toBe(1);
    const records = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records.map((x) => [x.proto, x.state])).toEqual([
      ["redis", "closed"],
      ["postgres", "closed"],
    ]);
  });
});
