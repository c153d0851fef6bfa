// `upcat check` as scripts run it, against whatever starts upcat: the source (tests/cli) or the compiled binary
// (tests/e2e).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, requireTool } from "../support/peers.ts";
import { run, startServer, type Command, type Server } from "../support/run.ts";
import { jsonRecord, jsonRecords } from "../check/json-records.ts";
import { re } from "../support/re.ts";

const JSON_FIELDS = [
  "target",
  "proto",
  "host",
  "address",
  "port",
  "state",
  "ok",
  "latency_ms",
  "reply",
  "error",
  "attempts",
  "index",
];

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
    slowBanner = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: (s) => void setTimeout(() => s.write("220 slow\r\n"), 60), data() {} },
    });
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
      expect(jsonRecord(u.stdout)).toMatchObject({ proto: "udp", state: "open" });
    });

    test("--json: one object a target with the stable fields, nothing else on stdout", async () => {
      const r = await run(cmd, [
        "check",
        "--json",
        `127.0.0.1:${server.port}`,
        `127.0.0.1:${closed}`,
        `udp://[::1]:${server.port}`,
        "--send",
        "abc",
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe("");
      const records = jsonRecords(r.stdout);
      expect(records.map((o) => Object.keys(o))).toEqual([JSON_FIELDS, JSON_FIELDS, JSON_FIELDS]);
      expect(records[0]).toMatchObject({
        target: `tcp://127.0.0.1:${server.port}`,
        proto: "tcp",
        host: "127.0.0.1",
        address: "127.0.0.1",
        port: server.port,
        state: "open",
        ok: true,
        error: null,
      });
      expect(records[1]).toMatchObject({ state: "closed", ok: false, error: "connection refused" });
      // Each record names its place among the command line's targets.
      expect(records.map((o) => o.index)).toEqual([0, 1, 2]);
      expect(records[2]).toMatchObject({
        target: `udp://[::1]:${server.port}`,
        address: "::1",
        state: "closed",
        ok: false,
      });
    });

    test("a port range and list: one verdict a port, the range fails if any port fails", async () => {
      const low = Math.min(server.port, closed);
      const r = await run(cmd, ["check", "--json", `127.0.0.1:${server.port},${closed}`]);
      expect(jsonRecords(r.stdout).map((l) => l.port)).toEqual([server.port, closed]);
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
      const hit = await run(cmd, [
        "check",
        `127.0.0.1:${server.port}`,
        "--send",
        "ping\\r\\n",
        "--expect",
        "PING\\r\\n",
        "--json",
      ]);
      expect(hit.status).toBe(0);
      expect(jsonRecord(hit.stdout)).toMatchObject({ state: "open", reply: "PING\r\n" });
      const miss = await run(cmd, [
        "check",
        `127.0.0.1:${server.port}`,
        "--send",
        "ping",
        "--match",
        "^pong",
        "--timeout",
        "300ms",
      ]);
      expect(miss.status).toBe(1);
      expect(miss.stdout).toMatch(/^mismatch .* the reply did not match within 300ms {2}"PING"\n$/);
      const proto = await run(cmd, [
        "check",
        "--protocol",
        "upper",
        `127.0.0.1:${server.port}`,
        `udp://127.0.0.1:${server.port}`,
      ]);
      expect(proto.status).toBe(0);
    });

    test("--file with comments, and --file - from stdin", async () => {
      const file = join(dir, "targets.txt");
      await Bun.write(file, `# the upper server\n127.0.0.1:${server.port}   # tcp\nudp://127.0.0.1:${server.port}\n\n`);
      const r = await run(cmd, ["check", "--json", "--file", file]);
      expect(r.status).toBe(0);
      expect(jsonRecords(r.stdout).map((l) => l.proto)).toEqual(["tcp", "udp"]);
      const s = await run(cmd, ["check", "--json", "--file", "-"], { stdin: `127.0.0.1:${closed}\n` });
      expect(s.status).toBe(1);
      expect(jsonRecord(s.stdout)).toMatchObject({ port: closed, state: "closed" });
    });

    test("--wait: a server that comes up later is waited for", async () => {
      const port = await freePort();
      const later = Bun.sleep(500).then(() =>
        startServer(cmd, ["--tcp", "--port", String(port), "--host", "127.0.0.1"]),
      );
      try {
        const r = await run(cmd, ["check", "--wait", "10s", "--json", `127.0.0.1:${port}`]);
        expect(r.status).toBe(0);
        const rec = jsonRecord(r.stdout);
        expect(rec.state).toBe("open");
        expect(rec.attempts).toBeGreaterThan(1);
      } finally {
        await (await later).stop();
      }
    });

    test("on a terminal: progress while waiting, coloured lines, the summary", async () => {
      const script = requireTool("script");
      const port = await freePort();
      const later = Bun.sleep(700).then(() =>
        startServer(cmd, ["--tcp", "--port", String(port), "--host", "127.0.0.1"]),
      );
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
      expect(jsonRecord(r.stdout)).toMatchObject({ state: "closed", attempts: 3 });
    });

    test("an unknown host fails that target only (in a namespace with only loopback up: no query leaves)", async () => {
      const unshare = requireTool("unshare");
      const script =
        `ip link set lo up && { "$@" serve --tcp --host 127.0.0.1 --port 12000 >/dev/null 2>&1 & ` +
        `pid=$!; "$@" check --quiet --wait 10s 127.0.0.1:12000 || { kill $pid; exit 9; }; ` +
        `"$@" check --json 127.0.0.1:12000 no-such-host.invalid:80; s=$?; kill $pid; exit $s; }`;
      const sh = { ...cmd, argv: [unshare, "-rn", "--", "/bin/sh", "-c", script, "sh", ...cmd.argv] };
      const r = await run(sh, [], { env: { PATH: `${cmd.env.PATH}:/usr/sbin:/sbin:/usr/bin:/bin` } });
      expect(r.status).toBe(1);
      const [up, unknown] = jsonRecords(r.stdout);
      expect(up).toMatchObject({ state: "open", ok: true });
      expect(unknown).toMatchObject({ host: "no-such-host.invalid", address: null, state: "error", ok: false });
      expect(unknown.error).toMatch(/unknown host|name lookup failed/);
    });

    test("--nagios: check_tcp's line and statuses (OK 0, WARNING 1, CRITICAL 2)", async () => {
      const ok = await run(cmd, ["check", "--nagios", `127.0.0.1:${server.port}`]);
      expect(ok.stderr).toBe("");
      expect(ok.status).toBe(0);
      expect(ok.stdout).toMatch(
        new RegExp(
          `^TCP OK - [\\d.]+ second response time on 127\\.0\\.0\\.1 port ` +
            `${server.port}\\|time=[\\d.]+s;;;0\\.000000;2\\.000000\\n$`,
        ),
      );
      const warn = await run(cmd, [
        "check",
        "--nagios",
        "--warning",
        "20ms",
        "--critical",
        "2s",
        `127.0.0.1:${slowBanner.port}`,
        "--expect",
        "220",
      ]);
      expect(warn.stdout).toMatch(
        /^TCP WARNING - 0\.0[6-9]\d second response time .*\|time=[\d.]+s;0\.020000;2\.000000;0\.000000;2\.000000\n$/,
      );
      expect(warn.status).toBe(1);
      const crit = await run(cmd, ["check", "--nagios", `127.0.0.1:${server.port}`, `127.0.0.1:${closed}`]);
      expect(crit.status).toBe(2);
      expect(crit.stdout).toMatch(
        new RegExp(
          `^TCP CRITICAL - 1 of 2 OK, slowest [\\d.]+ s; tcp://127\\.0\\.0\\.1:${closed} closed: connection ` +
            `refused\\|'tcp://127\\.0\\.0\\.1:${server.port}'=[\\d.]+s;;;0\\.000000;2\\.000000 ` +
            `'tcp://127\\.0\\.0\\.1:${closed}'=[\\d.]+s;;;0\\.000000;2\\.000000\\n$`,
        ),
      );
    });

    test("--tls against plain-text servers (issue 12): never a pass, a clear reason, no NaN, the hint never leads " +
      "to a pass", async () => {
      // The banner server's greeting is not a TLS record: the handshake fails at once. upcat's own server
      // sends the ClientHello back uppercased, holding back a trailing byte that may start a UTF-8
      // character, so that handshake fails at once or waits out --timeout: a failure either way.
      for (const [port, states] of [
        [slowBanner.port, ["error"]],
        [server.port, ["error", "timeout"]],
      ] as const) {
        const target = `127.0.0.1:${port}`;
        for (const extra of [[], ["--insecure"], ["--insecure", "--cert-days", "14"], ["--cert-days", "14,7"]]) {
          const args = ["--tls", "--timeout", "500ms", ...extra, target];
          const r = await run(cmd, ["check", ...args]);
          expect({ target, extra, status: r.status }).toEqual({ target, extra, status: 1 });
          if (states.length === 1)
            expect(r.stdout).toMatch(
              re(
                /^error +tcp:\/\/127\.0\.0\.1:\d+ +[\d.]+ms {2}/,
                /TLS handshake failed: .* \(does this port speak TLS\?\)\n$/,
              ),
            );
          // The hint to try --ca or --insecure is for a certificate that came and did not verify, not for a peer
          // without TLS.
          expect(r.stdout).not.toContain("--insecure");
          const json = await run(cmd, ["check", "--json", ...args]);
          const record = jsonRecord(json.stdout);
          expect(record.ok).toBe(false);
          expect(states).toContain(record.state);
          const nagios = await run(cmd, ["check", "--nagios", ...args]);
          expect(nagios.status).toBe(2);
          expect(nagios.stdout).toStartWith("TCP CRITICAL - ");
          for (const out of [r.stdout, json.stdout, nagios.stdout]) expect(out).not.toContain("NaN");
        }
      }
    }, 30_000);

    test("--expect compares text (issue 12): 0220 and 220.0 are not the banner's 220", async () => {
      const banner = `127.0.0.1:${slowBanner.port}`;
      for (const text of ["0220", "220.0", "220 SLOWER"]) {
        const r = await run(cmd, ["check", "--json", "--timeout", "300ms", banner, "--expect", text]);
        expect({ text, state: jsonRecord(r.stdout).state, status: r.status }).toEqual({
          text,
          state: "mismatch",
          status: 1,
        });
      }
      const nagios = await run(cmd, ["check", "--nagios", "--timeout", "300ms", banner, "--expect", "220.0"]);
      expect(nagios.stdout).toStartWith(`TCP WARNING - Unexpected response from tcp://${banner}: 220 slow|`);
      const same = await run(cmd, ["check", "--json", `127.0.0.1:${server.port}`, "--send", "007", "--expect", "007"]);
      expect(jsonRecord(same.stdout)).toMatchObject({ state: "open", reply: "007" });
    });

    test("--warning and --critical take check_tcp's seconds: 0.5ms and 0.000001 (issue 12)", async () => {
      const target = `127.0.0.1:${server.port}`;
      const sub = await run(cmd, ["check", "--nagios", "--warning", "0.000001", target]);
      expect(sub.status).toBe(1);
      expect(sub.stdout).toMatch(/^TCP WARNING - .*\|time=[\d.]+s;0\.000001;;0\.000000;2\.000000\n$/);
      const half = await run(cmd, ["check", "--nagios", "--warning", "0.5ms", "--critical", "0.5", target]);
      expect(half.stdout).toMatch(/\|time=[\d.]+s;0\.000500;0\.500000;/);
      expect(half.status).toBeOneOf([0, 1]);
      const bad = await run(cmd, ["check", "--nagios", "--warning", "soon", target]);
      expect(bad).toMatchObject({
        status: 3,
        stdout:
          'UPCAT UNKNOWN - invalid --warning: "soon" (expected seconds as check_tcp takes them, e.g. 0.5, 0.000001, ' +
          "or 500ms, 2s)\n",
      });
    });

    test(
      "per-target options: a quoted argument and --file lines each give their target its own probe; a bad line " +
        "names FILE:LINE",
      async () => {
        const upper = `127.0.0.1:${server.port}`;
        const r = await run(cmd, [
          "check",
          "--json",
          `${upper} --send 'hi\\n' --expect HI`,
          `${upper} --send abc --expect ABC`,
          upper,
        ]);
        expect(r.status).toBe(0);
        expect(jsonRecords(r.stdout).map((l) => l.reply)).toEqual(["HI\n", "ABC", null]);
        const file = join(dir, "runbook.txt");
        await Bun.write(
          file,
          `# runbook\n${upper} --send 'x\\n' --expect X\n\n${upper} --send 'y' --expect NOT --timeout 200ms\n`,
        );
        const f = await run(cmd, ["check", "--json", "--file", file]);
        expect(f.status).toBe(1);
        expect(jsonRecords(f.stdout).map((l) => l.state)).toEqual(["open", "mismatch"]);
        await Bun.write(file, `${upper}\n${upper} --expect 'unterminated\n`);
        const bad = await run(cmd, ["check", "--file", file]);
        expect(bad).toMatchObject({ status: 2, stdout: "" });
        expect(bad.stderr).toBe(`upcat: ${file}:2: unterminated ' quote in "${upper} --expect 'unterminated"\n`);
        const stdin = await run(cmd, ["check", "--file", "-"], { stdin: `${upper} --bogus\n` });
        expect(stdin.stderr).toStartWith("upcat: stdin:1: unknown option --bogus");
        // A line's thresholds are for --nagios; without it they wait, so one runbook serves both.
        const quiet = await run(cmd, ["check", "--quiet", `${upper} --warning 0.000001`]);
        expect(quiet).toMatchObject({ status: 0, stderr: "" });
        const graded = await run(cmd, ["check", "--nagios", `${upper} --warning 0.000001`]);
        expect(graded.status).toBe(1);
        const arg = await run(cmd, ["check", `${upper} --tls=1`]);
        expect(arg.stderr).toBe(`upcat: in argument "${upper} --tls=1": --tls takes no value\n`);
      },
    );

    test.each([
      [["check"], "upcat: no targets to check (give TARGET... or --file FILE)\n"],
      [
        ["check", "h:0"],
        'upcat: invalid target "h:0": port "0" is not a number from 1 to 65535 (expected host:port, tcp://host:port ' +
          "or udp://[::1]:port)\n",
      ],
      [
        ["check", "h:1-70000"],
        'upcat: invalid port or range "1-70000" in "h:1-70000" (expected ports 1-65535, as in 22,80,8000-8010)\n',
      ],
      [
        ["check", "h:1-65535", "h:1"],
        "upcat: more than 65535 targets in one check; split the ranges over several runs\n",
      ],
      [["check", "h:1", "--match", "("], "upcat: invalid --match: Invalid regular expression: missing )\n"],
      [
        ["check", "h:1", "--send", "\\q"],
        'upcat: invalid --send: unknown escape "\\q" in "\\q" (known: \\r \\n \\t \\0 \\\\ \\xHH)\n',
      ],
      [["check", "--file", "/no/such/file"], "upcat: cannot read --file /no/such/file: no such file\n"],
      [["check", "--tls", "udp://h:1"], "upcat: --tls is for TCP targets; drop the udp:// targets or --udp\n"],
      [
        ["check", "--cert-days", "3", "h:1"],
        "upcat: --cert-days is for TLS checks: add --tls, or check an https:// URL\n",
      ],
      [["check", "--warning", "1s", "h:1"], "upcat: --warning is a latency threshold for --nagios\n"],
      [["check", "--json", "--quiet", "h:1"], "upcat: --json and --quiet cannot be used together\n"],
      [
        ["check", "--concurrency", "0", "h:1"],
        'upcat: invalid --concurrency: "0" (expected a whole number from 1 to 10000)\n',
      ],
      [["check", "--protocol", "gopher", "h:1"], null],
      [
        ["check", "--timeout", "soon", "h:1"],
        'upcat: invalid duration for --timeout: "soon" (expected e.g. 500ms, 2s, 1m)\n',
      ],
    ])("a wrong check line exits 2 with one line before any traffic (case %#)", async (args, message) => {
      const r = await run(cmd, args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      if (message) expect(r.stderr).toBe(message);
      else expect(r.stderr).toMatch(/^upcat: [^\n]+\n$/);
    });

    test("--nagios on a wrong command line: UNKNOWN, exit 3, on stdout", async () => {
      const r = await run(cmd, ["check", "--nagios", "h:70000"]);
      expect(r.status).toBe(3);
      expect(r.stdout).toBe(
        'UPCAT UNKNOWN - invalid target "h:70000": port "70000" is not a number from 1 to 65535 (expected ' +
          "host:port, tcp://host:port or udp://[::1]:port)\n",
      );
    });
  });
}
