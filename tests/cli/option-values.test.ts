// Option values as users write them: durations and counts.
import { describe, expect, test } from "bun:test";
import { formatDuration, parseCount, parseDuration, parseSize } from "../../src/cli/option-values.ts";
import { UsageError } from "../../src/errors.ts";

describe("parseDuration", () => {
  test.each([
    ["500ms", 500],
    ["2s", 2000],
    ["1.5s", 1500],
    ["1m", 60_000],
    ["1h", 3_600_000],
    ["3", 3000],
    [2, 2000],
  ])("a duration reads as written: %p", (text, ms) => {
    expect(parseDuration(text, "--timeout")).toBe(ms);
  });
  test.each(["", "0", "0s", "-1s", "2x", "s", "1e3", "9999999h", " 2s", "2s ", "0x10", "+2s", "2 s"])(
    "%p is refused",
    (text) => {
      expect(() => parseDuration(text, "--timeout")).toThrow(UsageError);
      expect(() => parseDuration(text, "--timeout")).toThrow("--timeout");
    },
  );
});

describe("formatDuration", () => {
  test.each([
    [250, "250ms"],
    [2000, "2s"],
    [1500, "1.5s"],
    [90_000, "1.5m"],
  ])("a duration reads back as written: %d ms", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("parseCount", () => {
  test.each([
    ["0", 0],
    ["7", 7],
    [3, 3],
  ])("a count reads as written: %p", (text, n) => {
    expect(parseCount(text, "--retries", 100)).toBe(n);
  });
  test.each(["-1", "1.5", "x", "101", "", " 5 ", "0x10", "1e3", "+5"])("%p is refused", (text) => {
    expect(() => parseCount(text, "--retries", 100)).toThrow(UsageError);
  });
  test("a minimum is part of the message, so the range it states is the range it takes", () => {
    expect(() => parseCount("0", "--concurrency", 10_000, 1)).toThrow(
      'invalid --concurrency: "0" (expected a whole number from 1 to 10000)',
    );
    expect(parseCount("1", "--concurrency", 10_000, 1)).toBe(1);
  });
});

describe("parseSize", () => {
  test.each([
    ["65536", 65536],
    ["64k", 65536],
    ["64KiB", 65536],
    ["1m", 1 << 20],
    ["1.5MB", 1.5 * (1 << 20)],
    ["2g", 2 * (1 << 30)],
    [4096, 4096],
  ])("a size reads as written: %p", (text, bytes) => {
    expect(parseSize(text, "--max-pending")).toBe(bytes);
  });
  test.each(["", "0", "-1k", "1x", "k", "1e3", " 64k", "64 k", "0x10"])("%p is refused", (text) => {
    expect(() => parseSize(text, "--max-pending")).toThrow(UsageError);
  });
});
