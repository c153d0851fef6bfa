// How an HTTP result reads: the line for people, the --json record, and the --nagios grade as check_http gives it.
import { describe, expect, test } from "bun:test";
import type { Cause, CheckResult, CheckState } from "../../src/check/result.ts";
import { jsonRecord } from "../../src/check/report/json.ts";
import { targetText } from "../../src/check/report/target.ts";
import { resultLine } from "../../src/check/report/text.ts";
import type { Io } from "../../src/cli/io.ts";
import { nagiosReport, statusOf } from "../../src/check/report/nagios.ts";
import { createColors } from "picocolors";

const plain = createColors(false);
const io = { outColor: plain, errColor: plain } as unknown as Io;
const web = {
  transport: "tcp" as const,
  host: "127.0.0.1",
  port: 8080,
  http: { url: "http://127.0.0.1:8080/healthz", secure: false },
};
const result = (state: CheckState, ok: boolean, status: number | null, cause?: Cause, error?: string): CheckResult => ({
  target: web,
  state,
  ok,
  address: "127.0.0.1",
  latencyMs: 1.25,
  attempts: 1,
  http: { status, reason: status === null ? null : "Reason", location: null, redirects: 0 },
  ...(cause ? { cause, error } : {}),
});

describe("HTTP results", () => {
  test("an HTTP target is named by its URL, with proto http and its status in --json", () => {
    expect(targetText(web)).toBe("http://127.0.0.1:8080/healthz");
    expect(jsonRecord(result("open", true, 204), { index: 0 })).toMatchObject({
      target: "http://127.0.0.1:8080/healthz",
      proto: "http",
      port: 8080,
      http: { status: 204 },
    });
    expect(
      jsonRecord(
        { ...result("open", true, 200), target: { ...web, http: { url: "https://h/", secure: true } } },
        { index: 0 },
      ).proto,
    ).toBe("https");
  });

  test("the line for people shows the status of a pass, and the reason of a failure", () => {
    expect(resultLine(result("open", true, 200), io, 30)).toBe(
      "open      http://127.0.0.1:8080/healthz       1.3ms  200 Reason",
    );
    expect(
      resultLine(result("mismatch", false, 500, "http_status", "HTTP 500 Reason; wanted --status 200-299"), io, 30),
    ).toBe("mismatch  http://127.0.0.1:8080/healthz       1.3ms  HTTP 500 Reason; wanted --status 200-299");
  });

  test.each([
    [result("open", true, 200), "OK"],
    [result("mismatch", false, 301, "http_status", "x"), "WARNING"],
    [result("mismatch", false, 404, "http_status", "x"), "WARNING"],
    [result("mismatch", false, 500, "http_status", "x"), "CRITICAL"],
    [result("mismatch", false, 503, "http_status", "x"), "CRITICAL"],
    [result("mismatch", false, 200, "mismatch", "the body did not match"), "CRITICAL"],
    [result("error", false, 302, "too_many_redirects", "x"), "CRITICAL"],
    [result("error", false, null, "not_http", "x"), "CRITICAL"],
    [result("timeout", false, null, "timeout", "x"), "CRITICAL"],
    [result("error", false, null, "cert_warning", "x"), "WARNING"],
  ] as const)("--nagios grades %# as %s", (r, grade) => {
    expect(statusOf(r, { timeoutMs: 2000 })).toBe(grade);
  });

  test("a status outside a --status given is CRITICAL, as check_http -e makes it, whatever the status", () => {
    expect(statusOf(result("mismatch", false, 200, "http_status", "x"), { timeoutMs: 2000, statusGiven: true })).toBe(
      "CRITICAL",
    );
    expect(statusOf(result("mismatch", false, 404, "http_status", "x"), { timeoutMs: 2000, statusGiven: true })).toBe(
      "CRITICAL",
    );
  });

  test("the plugin line is labelled HTTP when every target is a URL, UPCAT when mixed", () => {
    expect(nagiosReport([result("open", true, 200)], [{ timeoutMs: 2000 }]).line).toStartWith(
      "HTTP OK - 200 Reason - 0.001 second response time on 127.0.0.1 port 8080|",
    );
    const tcp: CheckResult = {
      target: { transport: "tcp", host: "db", port: 5432 },
      state: "open",
      ok: true,
      latencyMs: 1,
      attempts: 1,
    };
    expect(nagiosReport([result("open", true, 200), tcp], [{ timeoutMs: 2000 }, { timeoutMs: 2000 }]).line).toStartWith(
      "UPCAT OK - 2 of 2 OK",
    );
  });
});
