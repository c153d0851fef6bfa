// The values check_tcp takes for -w/-c and -D, read by upcat's parsers: fractional and sub-millisecond seconds,
// WARN,CRIT days.
import { expect, test } from "bun:test";
import { parseCertDays, parseThreshold } from "../../src/cli/option-values.ts";
import { UsageError } from "../../src/errors.ts";

test.each([
  ["0.5", 500],
  ["0.000001", 0.001],
  ["0.5ms", 0.5],
  ["2", 2000],
  ["2s", 2000],
  ["1m", 60_000],
  ["0", 0],
  [".25", 250],
  ["10.", 10_000],
])("--warning %s is %d ms", (text, ms) => {
  expect(parseThreshold(text, "--warning")).toBeCloseTo(ms, 9);
});

test.each(["", "abc", "-1", "1e3", "0x10", "1,5", "NaN", "Infinity", "1 s", "5 5"])(
  "--warning %j is a usage error naming the option",
  (text) => {
    expect(() => parseThreshold(text, "--warning")).toThrow(UsageError);
    expect(() => parseThreshold(text, "--warning")).toThrow(/^invalid --warning: /);
  },
);

test.each([
  ["14", { warning: 14, critical: 0 }],
  ["14,7", { warning: 14, critical: 7 }],
  ["0", { warning: 0, critical: 0 }],
])("--cert-days %s", (text, days) => {
  expect(parseCertDays(text, "--cert-days")).toEqual(days);
});

test.each(["", "x", "14,", ",7", "1.5", "-1", "14,7,3", "99999"])("--cert-days %j is a usage error", (text) => {
  expect(() => parseCertDays(text, "--cert-days")).toThrow(/^invalid --cert-days: /);
});
