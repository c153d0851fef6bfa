// TARGET parsing: the forms users write, and a clear UsageError for everything else.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { looksLikeTarget, parsePort, parseTarget } from "../../src/transport/target.ts";

const defaults = { transport: "tcp" as const, host: "localhost", port: 12000 };

describe("parseTarget", () => {
  test.each([
    ["localhost:12000", "tcp", "localhost", 12000],
    ["127.0.0.1:7", "tcp", "127.0.0.1", 7],
    ["tcp://example.net:80", "tcp", "example.net", 80],
    ["udp://127.0.0.1:12000", "udp", "127.0.0.1", 12000],
    ["UDP://host:1", "udp", "host", 1],
    ["[::1]:12000", "tcp", "::1", 12000],
    ["udp://[::1]:9", "udp", "::1", 9],
    ["[fe80::1]", "tcp", "fe80::1", 12000],
    [":9000", "tcp", "localhost", 9000],
    ["myhost", "tcp", "myhost", 12000],
    ["  spaced:5  ", "tcp", "spaced", 5],
  ])("a target reads as written: %p", (text, transport, host, port) => {
    expect(parseTarget(text, defaults)).toEqual({ transport, host, port } as never);
  });

  test.each([
    ["::1:80", "needs brackets"],
    ["[::1", "missing ]"],
    ["[::1]x", "unexpected"],
    ["[nothost]:80", "not an IPv6 address"],
    ["host:0", 'port "0" is not a number from 1 to 65535'],
    ["host:70000", 'port "70000" is not a number'],
    ["host:abc", 'port "abc" is not a number'],
    ["host:-1", 'port "-1" is not a number'],
    ["host:1200O", 'port "1200O" is not a number'],
    ["host: 80", 'port " 80" is not a number'],
    ["host:", 'missing port after ":"'],
    ["udp://", 'missing host after "udp://"'],
    ["bad host:80", "not a host name"],
    ["http://x:80", "unknown scheme"],
    ["-host:1", "not a host name"],
  ])("%p is refused: %s", (text, why) => {
    expect(() => parseTarget(text, defaults)).toThrow(UsageError);
    expect(() => parseTarget(text, defaults)).toThrow(why);
  });

  test("without a default port, the port is required", () => {
    expect(() => parseTarget("host", { transport: "tcp", host: "x" })).toThrow("missing port");
  });

  test("fuzz: random text is a target or a UsageError, never another exception", () => {
    const chars = "abc:[]/.-_ 019udptcp\u00e9%@";
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let run = 0; run < 5000; run++) {
      const text = Array.from({ length: Math.floor(next() * 20) }, () => chars[Math.floor(next() * chars.length)]).join(
        "",
      );
      try {
        const t = parseTarget(text, defaults);
        expect(t.port).toBeGreaterThanOrEqual(1);
        expect(t.port).toBeLessThanOrEqual(65535);
        expect(t.host.length).toBeGreaterThan(0);
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
      }
    }
  });
});

describe("parsePort", () => {
  test.each([
    ["1", 1],
    ["65535", 65535],
    [12000, 12000],
  ])("a port reads as written: %p", (text, want) => {
    expect(parsePort(text)).toBe(want);
  });
  test.each(["0", "70000", "abc", "-1", "1.5", "", "123456", " 80 ", "0x10", "1e3", "+80"])("%p is invalid", (text) => {
    expect(() => parsePort(text)).toThrow(UsageError);
  });
  test("0 is allowed for servers", () => {
    expect(parsePort("0", true)).toBe(0);
  });
});

describe("looksLikeTarget", () => {
  test.each([
    ["localhost:12000", true],
    ["udp://h:1", true],
    ["[::1]:5", true],
    [":80", true],
    ["[::1]", true],
    ["host:", true],
    ["db:abc", true],
    ["::1:12000", true],
    ["http://x", true],
    ["[INFO]", true],
    ["hello", false],
    ["hello world:x", false],
    ["time: 12", false],
    ["", false],
    ["007", false],
  ])("a word is told from a target as a user means it: %p", (text, want) => {
    expect(looksLikeTarget(text)).toBe(want);
  });
});
