// How check results read: lines for people (with colour only when asked), the summary, and the monitoring-plugin line.
import { expect, test } from "bun:test";
import { createColors } from "picocolors";
import type { CheckResult } from "../../src/check/result.ts";
import { jsonRecord } from "../../src/check/report/json.ts";
import { resultLine, summaryLine } from "../../src/check/report/text.ts";
import type { Io } from "../../src/cli/io.ts";
import { nagiosReport, perfLabels, statusOf } from "../../src/check/report/nagios.ts";

const ioWith = (color: boolean) => ({ outColor: createColors(color) }) as Io;
const result = (over: Partial<CheckResult> & Pick<CheckResult, "state" | "ok">): CheckResult => ({
  target: { transport: "tcp", host: "db", port: 5432 },
  address: "10.0.0.5",
  latencyMs: 1.2345,
  attempts: 1,
  ...over,
});

test("a line: state, target, latency, the address a name resolved to, and why", () => {
  const line = resultLine(result({ state: "closed", ok: false, error: "connection refused" }), ioWith(false), 20);
  expect(line).toBe("closed    tcp://db:5432             1.2ms  (10.0.0.5)  connection refused");
});

test("colour: green for a pass, red for closed, yellow for a timeout; none without colour", () => {
  const c = ioWith(true);
  expect(resultLine(result({ state: "open", ok: true }), c, 10)).toStartWith("\x1b[32mopen");
  expect(resultLine(result({ state: "closed", ok: false }), c, 10)).toStartWith("\x1b[31mclosed");
  expect(resultLine(result({ state: "timeout", ok: false }), c, 10)).toStartWith("\x1b[33mtimeout");
  expect(resultLine(result({ state: "open", ok: true }), ioWith(false), 10)).not.toContain("\x1b");
});

test("a mismatch shows the reply it got; retries are counted", () => {
  const line = resultLine(
    result({
      state: "mismatch",
      ok: false,
      error: "the reply did not match",
      reply: new TextEncoder().encode("-ERR\r\n"),
      attempts: 3,
    }),
    ioWith(false),
    10,
  );
  expect(line).toEndWith('the reply did not match  "-ERR\\r\\n"  after 3 tries');
});

test("the summary counts states", () => {
  const rs = [
    result({ state: "open", ok: true }),
    result({ state: "open", ok: true }),
    result({ state: "no_reply", ok: false }),
  ];
  expect(summaryLine(rs, 1234)).toBe("2 of 3 targets passed (2 open, 1 no reply) in 1.23s");
});

test("JSON: latency rounded to microseconds, reply as text, TLS details when checked", () => {
  const tls = {
    subject: "CN=db",
    issuer: "CN=ca",
    valid_to: "2027-01-01T00:00:00.000Z",
    days_left: 37,
    authorized: true,
    protocol: "TLSv1.3",
  };
  expect(
    jsonRecord(result({ state: "open", ok: true, reply: new TextEncoder().encode("hi"), tls }), { index: 0 }),
  ).toEqual({
    target: "tcp://db:5432",
    proto: "tcp",
    host: "db",
    address: "10.0.0.5",
    port: 5432,
    state: "open",
    ok: true,
    latency_ms: 1.235,
    reply: "hi",
    error: null,
    attempts: 1,
    index: 0,
    tls,
  });
});

test("nagios: thresholds grade a pass; a failure is CRITICAL, a wrong reply WARNING", () => {
  const t = { warningMs: 1, criticalMs: 10, timeoutMs: 2000 };
  expect(statusOf(result({ state: "open", ok: true, latencyMs: 0.5 }), t)).toBe("OK");
  expect(statusOf(result({ state: "open", ok: true, latencyMs: 5 }), t)).toBe("WARNING");
  expect(statusOf(result({ state: "open", ok: true, latencyMs: 50 }), t)).toBe("CRITICAL");
  expect(statusOf(result({ state: "error", ok: false, address: undefined, error: "unknown host" }), t)).toBe(
    "CRITICAL",
  );
  expect(statusOf(result({ state: "timeout", ok: false }), t)).toBe("CRITICAL");
  // check_tcp's default for an unexpected reply (--mismatch=warn), unless it came later than -c.
  expect(statusOf(result({ state: "mismatch", cause: "mismatch", ok: false, latencyMs: 0.5 }), t)).toBe("WARNING");
  expect(statusOf(result({ state: "mismatch", cause: "mismatch", ok: false, latencyMs: 50 }), t)).toBe("CRITICAL");
  // check_tcp -e on a peer that closes without a word: "No data received from host", CRITICAL.
  expect(statusOf(result({ state: "error", cause: "no_data", ok: false, latencyMs: 0.5 }), t)).toBe("CRITICAL");
  expect(statusOf(result({ state: "error", cause: "cert_warning", ok: false }), t)).toBe("WARNING");
  expect(statusOf(result({ state: "error", cause: "cert_critical", ok: false }), t)).toBe("CRITICAL");
  expect(statusOf(result({ state: "error", cause: "not_tls", ok: false }), t)).toBe("CRITICAL");
  expect(statusOf(result({ state: "unreachable", cause: "unreachable", ok: false }), t)).toBe("CRITICAL");
});

test("nagios: one failed target: the reply it got shown as check_tcp does, and perfdata all the same", () => {
  const t = [{ warningMs: 1, criticalMs: 10, timeoutMs: 2000 }];
  const reply = new TextEncoder().encode("220 other|thing\r\nmore\r\n");
  const miss = nagiosReport(
    [
      result({
        state: "mismatch",
        cause: "mismatch",
        ok: false,
        error: "the reply did not match",
        reply,
        latencyMs: 3,
      }),
    ],
    t,
  );
  expect(miss).toEqual({
    status: 1,
    line:
      "TCP WARNING - Unexpected response from tcp://db:5432: 220 " +
      "other?thing|time=0.003000s;0.001000;0.010000;0.000000;2.000000",
  });
  const none = nagiosReport(
    [result({ state: "error", cause: "no_data", ok: false, error: "connection closed by peer without a reply" })],
    t,
  );
  expect(none).toEqual({
    status: 2,
    line:
      "TCP CRITICAL - tcp://db:5432 error: connection closed by peer without a " +
      "reply|time=0.001234s;0.001000;0.010000;0.000000;2.000000",
  });
});

test("no NaN in any form: a certificate with no readable date says so", () => {
  const tls = {
    subject: "CN=db",
    issuer: "CN=db",
    valid_to: null,
    days_left: null,
    authorized: false,
    protocol: "TLSv1.3",
  };
  const r = result({
    state: "error",
    cause: "no_cert_date",
    ok: false,
    error: "the certificate has no expiry date to check --cert-days 14 against",
    tls,
  });
  expect(resultLine(r, ioWith(false), 10)).toContain("no expiry date");
  expect(JSON.stringify(jsonRecord(r, { index: 0 }))).toContain('"days_left":null');
  const all = [
    resultLine(r, ioWith(false), 10),
    JSON.stringify(jsonRecord(r, { index: 0 })),
    nagiosReport([r], [{ timeoutMs: 2000 }]).line,
  ];
  for (const text of all) expect(text).not.toContain("NaN");
});

test("nagios: many targets, the worst status, the failures named, perfdata a label each", () => {
  const t = { warningMs: 100, timeoutMs: 2000 };
  const rs = [
    result({ state: "open", ok: true, latencyMs: 0.25 }),
    result({ state: "open", ok: true, latencyMs: 150, target: { transport: "tcp", host: "db", port: 5433 } }),
  ];
  expect(nagiosReport(rs, [t, t])).toEqual({
    status: 1,
    line:
      "TCP WARNING - 1 of 2 OK, slowest 0.150 s; tcp://db:5433 warning 0.150 " +
      "s|'tcp://db:5432'=0.000250s;0.100000;;0.000000;2.000000 'tcp://db:5433'=0.150000s;0.100000;;0.000000;2.000000",
  });
  const mixed = nagiosReport(
    [
      result({ state: "open", ok: true }),
      result({
        state: "no_reply",
        ok: false,
        error: "no reply within 2000ms",
        target: { transport: "udp", host: "ns", port: 53 },
      }),
    ],
    [t, t],
  );
  expect(mixed.status).toBe(2);
  expect(mixed.line).toStartWith(
    "UPCAT CRITICAL - 1 of 2 OK, slowest 0.001 s; udp://ns:53 no_reply: no reply within 2000ms|",
  );
});

test("nagios: a perfdata label a target each, even for one target checked twice or a name that looks numbered", () => {
  const web = (url: string) => ({ transport: "tcp" as const, host: "web", port: 80, http: { url, secure: false } });
  const rs = [
    result({ state: "open", ok: true }),
    result({ state: "open", ok: true }),
    result({ state: "open", ok: true, target: web("http://web/?a=b") }),
    result({ state: "open", ok: true, target: web("http://web/?ab #2") }),
    result({ state: "open", ok: true, target: web("http://web/?a'b") }),
    result({ state: "open", ok: true }),
  ];
  expect(perfLabels(rs)).toEqual([
    "'tcp://db:5432'",
    "'tcp://db:5432 #2'",
    // A label holds no = and no ': left out, and what is then the same as another is numbered.
    "'http://web/?ab'",
    "'http://web/?ab #2'",
    "'http://web/?ab #3'",
    "'tcp://db:5432 #3'",
  ]);
  const labels = nagiosReport(
    rs,
    rs.map(() => ({ timeoutMs: 2000 })),
  )
    .line.split("|")[1]!
    .match(/'[^']*'=/g);
  expect(new Set(labels).size).toBe(rs.length);
});
