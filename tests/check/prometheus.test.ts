// prometheusText: one gauge family a fact, every target labelled target/proto/host/port, and promtool accepts what it
// prints.
import { describe, expect, test } from "bun:test";
import { escapeLabel, prometheusText } from "../../src/check/report/prometheus.ts";
import { STATES } from "../../src/check/result.ts";
import type { CheckResult } from "../../src/check/result.ts";
import { targetText } from "../../src/check/report/target.ts";
import { need } from "../verdicts/servers.ts";

const tcp = (port: number, host = "127.0.0.1") => ({ transport: "tcp" as const, host, port });
const results: CheckResult[] = [
  { target: tcp(5432), state: "open", ok: true, address: "127.0.0.1", latencyMs: 1.5, attempts: 1 },
  {
    target: { transport: "udp", host: "::1", port: 53 },
    state: "no_reply",
    ok: false,
    address: "::1",
    latencyMs: 2000,
    attempts: 3,
    cause: "timeout",
    error: "no reply within 2000ms",
  },
  {
    target: {
      transport: "tcp",
      host: "example.test",
      port: 443,
      http: { url: 'https://example.test/health?x="1"', secure: true },
    },
    state: "open",
    ok: true,
    latencyMs: 12.25,
    attempts: 1,
    http: { status: 204, reason: "No Content", location: null, redirects: 0 },
    tls: {
      subject: "CN=example.test",
      issuer: "CN=ca",
      valid_to: "2027-01-01T00:00:00.000Z",
      days_left: 33,
      authorized: true,
      protocol: "TLSv1.3",
    },
  },
  // The same target again, with other options on its own line: a second series, told apart by nth.
  {
    target: tcp(5432),
    state: "closed",
    ok: false,
    latencyMs: 0.2,
    attempts: 1,
    cause: "refused",
    error: "connection refused",
  },
];

describe("prometheusText", () => {
  const text = prometheusText(results, targetText);
  const lines = text.trimEnd().split("\n");

  test("upcat_check_up: one gauge a target with target, proto, host and port labels; 1 passed, 0 failed", () => {
    expect(lines.filter((l) => l.startsWith("upcat_check_up{"))).toEqual([
      'upcat_check_up{target="tcp://127.0.0.1:5432",proto="tcp",host="127.0.0.1",port="5432"} 1',
      'upcat_check_up{target="udp://[::1]:53",proto="udp",host="::1",port="53"} 0',
      'upcat_check_up{target="https://example.test/health?x=\\"1\\"",proto="https",host="example.test",port="443"} 1',
      'upcat_check_up{target="tcp://127.0.0.1:5432",proto="tcp",host="127.0.0.1",port="5432",nth="2"} 0',
    ]);
  });

  test(
    "latency in seconds, attempts, the certificate's expiry as a timestamp and the HTTP status only where " + "known",
    () => {
      expect(lines).toContain(
        'upcat_check_latency_seconds{target="tcp://127.0.0.1:5432",proto="tcp",host="127.0.0.1",port="5432"} 0.0015',
      );
      expect(lines).toContain('upcat_check_attempts{target="udp://[::1]:53",proto="udp",host="::1",port="53"} 3');
      const expiry = lines.filter((l) => l.startsWith("upcat_check_tls_cert_expiry_timestamp_seconds{"));
      expect(expiry).toEqual([
        "upcat_check_tls_cert_expiry_timestamp_seconds" +
          `{target="https://example.test/health?x=\\"1\\"",proto="https",host="example.test",port="443"} ` +
          `${Date.UTC(2027, 0, 1) / 1000}`,
      ]);
      expect(lines.filter((l) => l.startsWith("upcat_check_http_status_code{"))).toHaveLength(1);
      expect(lines.find((l) => l.startsWith("upcat_check_http_status_code{"))).toEndWith(" 204");
    },
  );

  test("upcat_check_state: a 0/1 series for every state, 1 for the one it is in", () => {
    const udp = lines.filter((l) => l.startsWith('upcat_check_state{target="udp://[::1]:53"'));
    expect(udp).toHaveLength(STATES.length);
    expect(udp.filter((l) => l.endsWith(" 1"))).toEqual([
      'upcat_check_state{target="udp://[::1]:53",proto="udp",host="::1",port="53",state="no_reply"} 1',
    ]);
  });

  test("each family has HELP and TYPE gauge once, before its series", () => {
    const families = lines.filter((l) => l.startsWith("# TYPE")).map((l) => l.split(" ")[2]);
    expect(families).toEqual([
      "upcat_check_up",
      "upcat_check_latency_seconds",
      "upcat_check_state",
      "upcat_check_attempts",
      "upcat_check_tls_cert_expiry_timestamp_seconds",
      "upcat_check_http_status_code",
    ]);
    for (const f of families)
      expect(lines.indexOf(`# TYPE ${f} gauge`)).toBe(
        lines.indexOf(lines.find((l) => l.startsWith(`# HELP ${f} `))!) + 1,
      );
  });

  test.each([
    ["plain", "plain"],
    ['a"b', 'a\\"b'],
    ["back\\slash", "back\\\\slash"],
    ["line\nbreak", "line\\nbreak"],
  ])("escapeLabel(%j) is %j", (raw, escaped) => expect(escapeLabel(raw)).toBe(escaped));

  test("promtool check metrics accepts it (Debian prometheus)", async () => {
    const promtool = need("promtool", "prometheus");
    const proc = Bun.spawn([promtool, "check", "metrics"], { stdin: new Blob([text]), stdout: "pipe", stderr: "pipe" });
    const [status, out, err] = await Promise.all([
      proc.exited,
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ]);
    expect({ status, out, err }).toEqual({ status: 0, out: "", err: "" });
  });
});
