// TARGET specs of `upcat check`: ranges and lists expand in order, bad ones are usage errors before any traffic.
import { describe, expect, test } from "bun:test";
import { expandSpec, parsePortList } from "../../src/check/spec.ts";
import { UsageError } from "../../src/errors.ts";

describe("expandSpec", () => {
  test.each([
    ["db:5432", [["tcp", "db", 5432]]],
    ["tcp://db:5432", [["tcp", "db", 5432]]],
    ["udp://10.0.0.1:53", [["udp", "10.0.0.1", 53]]],
    ["[::1]:7", [["tcp", "::1", 7]]],
    [
      "host:8000-8002",
      [
        ["tcp", "host", 8000],
        ["tcp", "host", 8001],
        ["tcp", "host", 8002],
      ],
    ],
    [
      "host:22,80,443",
      [
        ["tcp", "host", 22],
        ["tcp", "host", 80],
        ["tcp", "host", 443],
      ],
    ],
    [
      "udp://[::1]:1-2,5",
      [
        ["udp", "::1", 1],
        ["udp", "::1", 2],
        ["udp", "::1", 5],
      ],
    ],
    [
      "my-host.example:80,80,81",
      [
        ["tcp", "my-host.example", 80],
        ["tcp", "my-host.example", 81],
      ],
    ],
    [":12000", [["tcp", "localhost", 12000]]],
  ] as const)("a port range or list expands in the order written: %s", (spec, want) => {
    expect(expandSpec(spec).map((t) => [t.transport, t.host, t.port])).toEqual(want.map((w) => [...w]));
  });

  test.each([
    "host",
    "host:0",
    "host:70000",
    "host:1-70000",
    "host:10-5",
    "host:1,,2",
    "host:1-",
    "::1:80",
    "ftp://host:21",
    "http://host:0/",
    "http://[::1/",
    "https://[zz]/",
    "ho st:80",
    "[::1:80",
  ])("%s is a usage error", (spec) => {
    expect(() => expandSpec(spec)).toThrow(UsageError);
  });

  test.each([
    ["http://host:80", "tcp", "host", 80, "http://host/", false],
    ["HTTP://Host:8080/healthz?full=1#frag", "tcp", "host", 8080, "http://host:8080/healthz?full=1", false],
    ["https://example.org", "tcp", "example.org", 443, "https://example.org/", true],
    ["https://[::1]:8443/x", "tcp", "::1", 8443, "https://[::1]:8443/x", true],
  ] as const)(
    "%s is one HTTP target: the URL normalised, the port from the scheme when not given",
    (spec, transport, host, port, url, secure) => {
      expect(expandSpec(spec)).toEqual([{ transport, host, port, http: { url, secure } }]);
    },
  );

  test("parsePortList keeps the order written and drops repeats", () => {
    expect(parsePortList("443,22-24,22")).toEqual([443, 22, 23, 24]);
  });
});
