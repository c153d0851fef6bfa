// `upcat check` as scripts run it, against whatever starts upcat: the source (tests/cli) or the compiled binary (tests/e2e).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, requireTool } from "../support/peers.ts";
import { run, startServer, type Command, type Server } from "../support/run.ts";

const JSON_FIELDS = ["target", "proto", "host", "address", "port", "state", "ok", "latency_ms", "reply", "error", "attempts"];

/** checkScenarios registers every scenario; `command` is awaited once, before the first test. */
export function checkScenarios(command: () => Promise<Command> | Command): void {
  let cmd: Command;
  let server: Server;
  let closed: number;
  let slowBanner: { port: number; stop(closeActive?: boolean): void };
  const dir = mkdtempSync(join(tmpdir(), "upcat-check-"));
  beforeAll(async () => {
    cmd = await command();
    server = await startServer(cmd, ["--port", "0", "--host", "127.0.0.1"]);
    closed = await freePort();
    // Answers 60ms after the connection, so the response time is above a 20ms threshold and under 2s.
    slowBanner = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void setTimeout(() => s.write("220 slow\r\n"), 60), data() {} } });
  });
  afterAll(async () => {
    await server.stop();
    slowBanner.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });

  describe("upcat check", () => {
    test("an open and a closed port: a line each in the order given, a summary on stderr, exit 1", async () => {
      const r = await run(cmd, ["check", `127.0.0.1:${server.port}`, `127.0.0.1:${closed}`]);
      expect(r.status).toBe(1);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(new RegExp(`^open +tcp://127\\.0\\.0\\.1:${server.port} +[\\d.]+ms$`));
      expect(lines[1]).toMatch(new RegExp(`^closed +tcp://127\\.0\\.0\\.1:${closed} +[\\d.]+ms  connection refused$`));
      expect(r.stderr).toMatch(/^1 of 2 targets passed \(1 open, 1 closed\) in [\d.]+s\n$/);
      expect(r.stdout).not.toContain("\x1b[");
    });

    test("every target open: exit 0; udp:// and --udp check over UDP", async () => {
      const r = await run(cmd, ["check", `127.0.0.1:${server.port}`, `udp://127.0.0.1:${server.port}`]);
      expect(r.status).toBe(0);
      const u = await run(cmd, ["check", "--udp", "--json", `127.0.0.1:${server.port}`]);
      expect(u.status).toBe(0);
      expect(JSON.parse(u.stdout)).toMatchObject({ proto: "udp", state: "open" });
    });

    test("--json: one object a target with the stable fields, nothing else on stdout", async () => {
      const r = await run(cmd, ["check", "--json", `127.0.0.1:${server.port}`, `127.0.0.1:${closed}`, `udp://[::1]:${server.port}`, "--send", "abc"]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe("");
      const records = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
      expect(records.map((o) => Object.keys(o))).toEqual([JSON_FIELDS, JSON_FIELDS, JSON_FIELDS]);
      expect(records[0]).toMatchObject({ target: `tcp://127.0.0.1:${server.port}`, proto: "tcp", host: "127.0.0.1", address: "127.0.0.1", port: server.port, state: "open", ok: true, error: null });
      expect(records[1]).toMatchObject({ state: "closed", ok: false, error: "connection refused" });
      expect(records[2]).toMatchObject({ target: `udp://[::1]:${server.port}`, address: "::1", state: "closed", ok: false });
    });

    test("a port range and list: one verdict a port, the range fails if any port fails", async () => {
      const low = Math.min(server.port, closed);
      const r = await run(cmd, ["check", "--json", `127.0.0.1:${server.port},${closed}`]);
      expect(r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).port)).toEqual([server.port, closed]);
      expect(r.status).toBe(1);
      const one = await run(cmd, ["check", "--quiet", `127.0.0.1:${server.port}-${server.port}`]);
      expect(one).toMatchObject({ status: 0, stdout: "", stderr: "" });
      expect(low).toBeGreaterThan(0);
    });

    test("--quiet prints nothing, the status tells", async () => {
      const r = await run(cmd, ["check", "--quiet", `127.0.0.1:${closed}`]);
      expect(r).toMatchObject({ status: 1, stdout: "", stderr: "" });
    });

    test("--send/--expect and --match on the reply; --protocol upper checks the uppercasing", async () => {
      const hit = await run(cmd, ["check", `127.0.0.1:${server.port}`, "--send", "ping\\r\\n", "--expect", "PING\\r\\n", "--json"]);
      expect(hit.status).toBe(0);
      expect(JSON.parse(hit.stdout)).toMatchObject({ state: "open", reply: "PING\r\n" });
      const miss = await run(cmd, ["check", `127.0.0.1:${server.port}`, "--send", "ping", "--match", "^pong", "--timeout", "300ms"]);
      expect(miss.status).toBe(1);
      expect(miss.stdout).toMatch(/^mismatch .* the reply did not match within 300ms {2}"PING"\n$/);
      const proto = await run(cmd, ["check", "--protocol", "upper", `127.0.0.1:${server.port}`, `udp://127.0.0.1:${server.port}`]);
      expect(proto.status).toBe(0);
    });

    test("--file with comments, and --file - from stdin", async () => {
      const file = join(dir, "targets.txt");
      await Bun.write(file, `# the upper server\n127.0.0.1:${server.port}   # tcp\nudp://127.0.0.1:${server.port}\n\n`);
      const r = await run(cmd, ["check", "--json", "--file", file]);
      expect(r.status).toBe(0);
      expect(r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).proto)).toEqual(["tcp", "udp"]);
      const s = await run(cmd, ["check", "--json", "--file", "-"], { stdin: `127.0.0.1:${closed}\n` });
      expect(s.status).toBe(1);
      expect(JSON.parse(s.stdout)).toMatchObject({ port: closed, state: "closed" });
    });

    test("--wait: a server that comes up later is waited for", async () => {
      const port = await freePort();
      const later = Bun.sleep(500).then(() => startServer(cmd, ["--tcp", "--port", String(port), "--host", "127.0.0.1"]));
      try {
        const r = await run(cmd, ["check", "--wait", "10s", "--json", `127.0.0.1:${port}`]);
        expect(r.status).toBe(0);
        const rec = JSON.parse(r.stdout);
        expect(rec.state).toBe("open");
        expect(rec.attempts).toBeGreaterThan(1);
      } finally {
        await (await later).stop();
      }
    });

    test("on a terminal: progress while waiting, coloured lines, the summary", async () => {
      const script = requireTool("script");
      const port = await freePort();
      const later = Bun.sleep(700).then(() => startServer(cmd, ["--tcp", "--port", String(port), "--host", "127.0.0.1"]));
      try {
        const line = [...cmd.argv, "check", "--wait", "5s", `127.0.0.1:${port}`].map((w) => `'${w}'`).join(" ");
        const r = await run({ ...cmd, argv: [script, "-qec", line, "/dev/null"] }, [], { env: { NO_COLOR: "" } });
        expect(r.status).toBe(0);
        expect(r.stdout).toContain(`0/1 up, waiting for tcp://127.0.0.1:${port}`);
        expect(r.stdout).toMatch(new RegExp(`\\x1b\\[32mopen +\\x1b\\[39m  tcp://127\\.0\\.0\\.1:${port}`));
        expect(r.stdout).toMatch(/1 of 1 target passed \(1 open\) in [\d.]+s\r\n$/);
      } finally {
        await (await later).stop();
      }
    });

    test("--retries: a closed port is tried again, and still fails", async () => {
      const r = await run(cmd, ["check", "--json", "--retries", "2", `127.0.0.1:${closed}`]);
      expect(r.status).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ state: "closed", attempts: 3 });
    });

    test("an unknown host fails that target only (in a namespace with only loopback up: no query leaves)", async () => {
      const unshare = requireTool("unshare");
      const script = `ip link set lo up && { "$@" serve --tcp --host 127.0.0.1 --port 12000 >/dev/null 2>&1 & pid=$!; sleep 0.5; "$@" check --json 127.0.0.1:12000 no-such-host.invalid:80; s=$?; kill $pid; exit $s; }`;
      const sh = { ...cmd, argv: [unshare, "-rn", "--", "/bin/sh", "-c", script, "sh", ...cmd.argv] };
      const r = await run(sh, [], { env: { PATH: `${cmd.env.PATH}:/usr/sbin:/sbin:/usr/bin:/bin` } });
      expect(r.status).toBe(1);
      const [up, unknown] = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
      expect(up).toMatchObject({ state: "open", ok: true });
      expect(unknown).toMatchObject({ host: "no-such-host.invalid", address: null, state: "error", ok: false });
      expect(unknown.error).toMatch(/unknown host|name lookup failed/);
    });

    test("--nagios: check_tcp's line and statuses (OK 0, WARNING 1, CRITICAL 2)", async () => {
      const ok = await run(cmd, ["check", "--nagios", `127.0.0.1:${server.port}`]);
      expect(ok.stderr).toBe("");
      expect(ok.status).toBe(0);
      expect(ok.stdout).toMatch(new RegExp(`^TCP OK - [\\d.]+ second response time on 127\\.0\\.0\\.1 port ${server.port}\\|time=[\\d.]+s;;;0\\.000000;2\\.000000\\n$`));
      const warn = await run(cmd, ["check", "--nagios", "--warning", "20ms", "--critical", "2s", `127.0.0.1:${slowBanner.port}`, "--expect", "220"]);
      expect(warn.stdout).toMatch(/^TCP WARNING - 0\.0[6-9]\d second response time .*\|time=[\d.]+s;0\.020000;2\.000000;0\.000000;2\.000000\n$/);
      expect(warn.status).toBe(1);
      const crit = await run(cmd, ["check", "--nagios", `127.0.0.1:${server.port}`, `127.0.0.1:${closed}`]);
      expect(crit.status).toBe(2);
      expect(crit.stdout).toMatch(new RegExp(`^TCP CRITICAL - 1 of 2 OK, slowest [\\d.]+ s; tcp://127\\.0\\.0\\.1:${closed} closed: connection refused\\|'tcp://127\\.0\\.0\\.1:${server.port}'=[\\d.]+s;;;0\\.000000;2\\.000000 'tcp://127\\.0\\.0\\.1:${closed}'=[\\d.]+s;;;0\\.000000;2\\.000000\\n$`));
    });

    test.each([
      [["check"], "upcat: no targets to check (give TARGET... or --file FILE)\n"],
      [["check", "h:0"], 'upcat: invalid target "h:0": port "0" is not a number from 1 to 65535 (expected host:port, tcp://host:port or udp://[::1]:port)\n'],
      [["check", "h:1-70000"], 'upcat: invalid port or range "1-70000" in "h:1-70000" (expected ports 1-65535, as in 22,80,8000-8010)\n'],
      [["check", "h:1-65535", "h:1"], "upcat: more than 65535 targets in one check; split the ranges over several runs\n"],
      [["check", "h:1", "--match", "("], "upcat: invalid --match: Invalid regular expression: missing )\n"],
      [["check", "h:1", "--send", "\\q"], 'upcat: invalid --send: unknown escape "\\q" in "\\q" (known: \\r \\n \\t \\0 \\\\ \\xHH)\n'],
      [["check", "--file", "/no/such/file"], "upcat: cannot read --file /no/such/file: no such file\n"],
      [["check", "--tls", "udp://h:1"], "upcat: --tls is for TCP targets; drop the udp:// targets or --udp\n"],
      [["check", "--cert-days", "3", "h:1"], "upcat: --cert-days is for TLS checks; add --tls\n"],
      [["check", "--warning", "1s", "h:1"], "upcat: --warning is a latency threshold for --nagios\n"],
      [["check", "--json", "--quiet", "h:1"], "upcat: --json and --quiet cannot be used together\n"],
      [["check", "--concurrency", "0", "h:1"], 'upcat: invalid --concurrency: "0" (expected a whole number from 1 to 10000)\n'],
      [["check", "--protocol", "gopher", "h:1"], null],
      [["check", "--timeout", "soon", "h:1"], 'upcat: invalid duration for --timeout: "soon" (expected e.g. 500ms, 2s, 1m)\n'],
    ])("%j: exit 2, one line, before any traffic", async (args, message) => {
      const r = await run(cmd, args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      if (message) expect(r.stderr).toBe(message);
      else expect(r.stderr).toMatch(/^upcat: [^\n]+\n$/);
    });

    test("--nagios on a wrong command line: UNKNOWN, exit 3, on stdout", async () => {
      const r = await run(cmd, ["check", "--nagios", "h:70000"]);
      expect(r.status).toBe(3);
      expect(r.stdout).toBe('UPCAT UNKNOWN - invalid target "h:70000": port "70000" is not a number from 1 to 65535 (expected host:port, tcp://host:port or udp://[::1]:port)\n');
    });
  });
}
