// The HTTP options of `upcat check` read as typed: --status codes and ranges, --header lines, --method tokens.
import { describe, expect, test } from "bun:test";
import { statusIn } from "../../src/check/http-probe.ts";
import { parseHeader, parseMethod, parseStatusSet } from "../../src/cli/check-http-options.ts";
import { UsageError } from "../../src/errors.ts";

describe("--status", () => {
  test.each([
    ["200", [[200, 200]]],
    [
      "200,204,300-399",
      [
        [200, 200],
        [204, 204],
        [300, 399],
      ],
    ],
    ["100-599", [[100, 599]]],
  ])("a status set reads as written: %s", (text, ranges) =>
    expect(parseStatusSet(text)).toEqual({ text, ranges: ranges as [number, number][] }),
  );

  test.each(["", "2xx", "99", "600", "200-", "-200", "300-200", "200,,204", " 200", "200 ", "0200", "2e2", "+200"])(
    "%j is refused",
    (text) => {
      expect(() => parseStatusSet(text)).toThrow(UsageError);
    },
  );

  test("statusIn: the codes and the ends of each range pass, their neighbours do not", () => {
    const set = parseStatusSet("200,300-399");
    expect([199, 200, 201, 299, 300, 399, 400].map((s) => statusIn(set, s))).toEqual([
      false,
      true,
      false,
      false,
      true,
      true,
      false,
    ]);
  });
});

describe("--header", () => {
  test.each([
    ["X-A: 1", ["X-A", "1"]],
    ["Authorization: Bearer a:b:c", ["Authorization", "Bearer a:b:c"]],
    ["X-Empty:", ["X-Empty", ""]],
    ["X-Pad: \t spaced out \t", ["X-Pad", "spaced out"]],
    ["Host: vhost.example", ["Host", "vhost.example"]],
  ])("a header reads as written: %j", (text, pair) => expect(parseHeader(text)).toEqual(pair as [string, string]));

  test.each(["NoColon", ": value", "Bad Name: x", "X-A: line\r\nInjected: 1", "X-A: nul\0", "Ünïcode: x"])(
    "%j is refused",
    (text) => {
      expect(() => parseHeader(text)).toThrow(UsageError);
    },
  );
});

describe("--method", () => {
  test.each(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "get"])(
    "%s is sent as typed",
    (m) => expect(parseMethod(m)).toBe(m),
  );
  test.each(["", "GET /", "CONNECT", "trace", "TRACK", "G\tET"])("%j is refused", (m) =>
    expect(() => parseMethod(m)).toThrow(UsageError),
  );
});
