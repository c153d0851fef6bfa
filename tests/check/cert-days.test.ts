// --cert-days WARN,CRIT graded as check_tcp -D grades days_left, and a certificate with no date to check fails.
import { expect, test } from "bun:test";
import type { TlsInfo } from "../../src/check/result.ts";
import { gradeExpiry } from "../../src/check/tcp-probe.ts";

const DAY = 86_400_000;
const cert = (daysAhead: number | null): TlsInfo => ({
  subject: "CN=x",
  issuer: "CN=x",
  authorized: true,
  protocol: "TLSv1.3",
  valid_to: daysAhead === null ? null : new Date(Date.now() + daysAhead * DAY).toISOString(),
  days_left: daysAhead === null ? null : Math.trunc(daysAhead),
});

test.each([
  // [days ahead, WARN, CRIT, cause or undefined for a pass]
  [30.5, 14, 0, undefined],
  [14.5, 14, 0, "cert_warning"], // 14 days left: <= 14 warns, as check_tcp -D 14
  [15.5, 14, 0, undefined],
  [10.5, 14, 10, "cert_critical"],
  [11.5, 14, 10, "cert_warning"],
  [0.5, 14, 0, "cert_critical"], // less than a day left: 0 <= 0
  [-0.5, 0, 0, "cert_expired"], // expired hours ago: days_left is still 0, the date says expired
  [-3, 14, 7, "cert_expired"],
] as const)("%d days ahead, --cert-days %d,%d: %s", (ahead, warning, critical, cause) => {
  const graded = gradeExpiry(cert(ahead), { warning, critical });
  expect(graded?.cause).toBe(cause);
  if (graded) expect(graded.state).toBe("error");
});

test("no date to check is a failure, never a pass, and never NaN", () => {
  const graded = gradeExpiry(cert(null), { warning: 14, critical: 7 });
  expect(graded).toMatchObject({
    state: "error",
    cause: "no_cert_date",
    error: "the certificate has no expiry date to check --cert-days 14,7 against",
  });
});
