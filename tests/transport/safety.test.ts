// The rules that keep a reachable server from being a weapon: allow lists, per-prefix and global budgets, refused
// source ports.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { parseAllowList } from "../../src/transport/allow-list.ts";
import { addressKey, sourcePrefix } from "../../src/transport/prefix.ts";
import {
  ByteBudget,
  GO,
  MAX_SOURCES,
  OVER_LARGER,
  OVER_REPLIES,
  SourceLimiter,
} from "../../src/transport/rate-limit.ts";
import { isUnanswerable, markServed, SERVICE_PORTS_ABOVE_1023, unmarkServed } from "../../src/transport/reflection.ts";

describe("parseAllowList", () => {
  test("no --allow allows everyone", () => {
    expect(parseAllowList([])).toBeUndefined();
  });

  test.each([
    ["127.0.0.0/8", "127.0.0.2", true],
    ["127.0.0.0/8", "10.0.0.1", false],
    ["127.0.0.2", "127.0.0.2", true],
    ["127.0.0.2", "127.0.0.3", false],
    ["10.0.0.0/8", "::ffff:10.1.2.3", true],
    ["::1/128", "::1", true],
    ["::1", "127.0.0.1", false],
    ["fd00::/8", "fd12::5", true],
    ["0.0.0.0/0", "192.0.2.9", true],
  ])("%s allows %s: %p", (cidr, address, allowed) => {
    expect(parseAllowList([cidr])!.allows(address)).toBe(allowed);
  });

  test("several entries: any one allows", () => {
    const list = parseAllowList(["127.0.0.2", "::1"])!;
    expect([list.allows("127.0.0.2"), list.allows("::1"), list.allows("127.0.0.1")]).toEqual([true, true, false]);
  });

  test.each(["", "10.0.0.0/33", "::/129", "10.0.0.0/x", "host.example", "10.0.0/8", "1.2.3.4/8/9", "10.0.0.0/-1"])(
    "%p is refused",
    (text) => {
      expect(() => parseAllowList([text])).toThrow(UsageError);
    },
  );

  // A length is a plain number as typed; anything else is a typo that would otherwise widen the list.
  test.each([
    "10.0.0.0/08",
    "10.0.0.0/ 8",
    "10.0.0.0/8 ",
    " 10.0.0.0/8",
    "10.0.0.0/+8",
    "10.0.0.0/8.0",
    "::/0128",
    "010.0.0.0/8",
  ])("%p (not a plain length or address) is refused", (text) => {
    expect(() => parseAllowList([text])).toThrow(UsageError);
  });

  test.each([
    ["127.0.0.1/0", "0.0.0.0/0"],
    ["127.0.0.1/8", "127.0.0.0/8"],
    ["10.1.2.3/24", "10.1.2.0/24"],
    ["fd00::1/64", "fd00::/64"],
    ["2001:db8::1/32", "2001:db8::/32"],
  ])("%p has host bits set: refused, naming %p", (text, network) => {
    expect(() => parseAllowList([text])).toThrow(`did you mean ${network}`);
  });
});

describe("SourceLimiter (--udp-reply-rate, --udp-rate per source prefix)", () => {
  const v4 = (text: string) => sourcePrefix(text);

  test("replies: a burst of `replyRate`, then one more per 1/replyRate seconds, whatever their size", () => {
    const limiter = new SourceLimiter(5, 1000);
    const at0 = Array.from({ length: 8 }, () => limiter.take(v4("10.0.0.1"), false, 0));
    expect(at0).toEqual([GO, GO, GO, GO, GO, OVER_REPLIES, OVER_REPLIES, OVER_REPLIES]);
    expect(limiter.take(v4("10.0.0.1"), false, 199)).toBe(OVER_REPLIES);
    expect(limiter.take(v4("10.0.0.1"), false, 201)).toBe(GO);
    expect(limiter.take(v4("10.0.0.1"), false, 202)).toBe(OVER_REPLIES);
  });

  test("larger replies spend their own budget too; replyRate 0 is no limit on replies", () => {
    const limiter = new SourceLimiter(0, 2);
    expect([true, true, true].map(() => limiter.take(v4("10.0.0.1"), true, 0))).toEqual([GO, GO, OVER_LARGER]);
    expect(Array.from({ length: 1000 }, () => limiter.take(v4("10.0.0.1"), false, 0)).every((v) => v === GO)).toBe(
      true,
    );
  });

  test("a /24 shares one bucket; the next /24 has its own", () => {
    const limiter = new SourceLimiter(1, 1);
    expect(limiter.take(v4("10.0.0.1"), false, 0)).toBe(GO);
    expect(limiter.take(v4("10.0.0.254"), false, 0)).toBe(OVER_REPLIES);
    expect(limiter.take(v4("::ffff:10.0.0.7"), false, 0)).toBe(OVER_REPLIES);
    expect(limiter.take(v4("10.0.1.1"), false, 0)).toBe(GO);
  });

  test("a /56 shares one bucket in IPv6", () => {
    const limiter = new SourceLimiter(1, 1);
    expect(limiter.take(sourcePrefix("2001:db8:0:1::1"), false, 0)).toBe(GO);
    expect(limiter.take(sourcePrefix("2001:db8:0:ff::2"), false, 0)).toBe(OVER_REPLIES);
    expect(limiter.take(sourcePrefix("2001:db8:0:100::1"), false, 0)).toBe(GO);
  });

  test("a flood from 200 000 forged prefixes keeps the table bounded (MAX_SOURCES)", () => {
    const limiter = new SourceLimiter(10, 10);
    for (let k = 0; k < 200_000; k++) limiter.take(k, true, k / 100);
    expect(limiter.size).toBeLessThanOrEqual(MAX_SOURCES);
    expect(limiter.size).toBeGreaterThan(1000);
  });

  test("eviction by age: a spray from fresh prefixes never resets a busy victim's bucket", () => {
    const limiter = new SourceLimiter(0, 10, 1000);
    const victim = v4("192.0.2.1");
    for (let k = 0; k < 10; k++) expect(limiter.take(victim, true, 0)).toBe(GO);
    expect(limiter.take(victim, true, 0)).toBe(OVER_LARGER);
    // 50 000 fresh sources within 50 ms: the table fills many times over.
    for (let k = 0; k < 50_000; k++) limiter.take(1_000_000 + k, true, k / 1000);
    // 50 ms refills half a token: the victim is still refused, as it would be without the spray.
    expect(limiter.take(victim, true, 50)).toBe(OVER_LARGER);
    // Once idle for a second its bucket has refilled, and forgetting it then loses nothing.
    expect(limiter.take(victim, true, 1100)).toBe(GO);
  });
});

describe("ByteBudget (--udp-excess)", () => {
  test("bytes up to a second's worth, then refilled at the rate", () => {
    const budget = new ByteBudget(1000);
    expect(budget.take(600, 0)).toBe(true);
    expect(budget.take(600, 0)).toBe(false);
    expect(budget.take(400, 0)).toBe(true);
    // 50 ms at 1000 bytes a second: 50 bytes more.
    expect(budget.take(50, 50)).toBe(true);
    expect(budget.take(1, 50)).toBe(false);
    expect(budget.take(1000, 5000)).toBe(true);
  });
});

describe("sourcePrefix and addressKey", () => {
  test.each([
    ["127.0.0.1", (127 << 16) | 0],
    ["10.1.2.3", (10 << 16) | (1 << 8) | 2],
    ["::ffff:10.1.2.99", (10 << 16) | (1 << 8) | 2],
    ["2001:db8:1:2ff::1", "8193:3512:1:2"],
    ["::1", "0:0:0:0"],
  ])("sourcePrefix(%s) = %p", (address, key) => {
    expect(sourcePrefix(address)).toBe(key);
  });

  test.each([
    ["127.0.0.2", "127.0.0.2"],
    ["::ffff:127.0.0.2", "127.0.0.2"],
    ["2001:db8::1", "8193:3512:0:0"],
    ["2001:db8::ffff:1", "8193:3512:0:0"],
  ])("addressKey(%s) = %p", (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});

describe("isUnanswerable", () => {
  test.each([
    ["127.0.0.1", 40000, false],
    ["::1", 40000, false],
    ["192.0.2.7", 1024, false],
    ["192.0.2.7", 49152, false],
    ["127.0.0.1", 7, true],
    // Every privileged port is a service's: DNS, NTP, SNMP, and the rest below 1024.
    ["127.0.0.1", 53, true],
    ["127.0.0.1", 123, true],
    ["127.0.0.1", 161, true],
    ["127.0.0.1", 1023, true],
    // Known services above 1023 that answer what they are sent.
    ["127.0.0.1", 1900, true],
    ["127.0.0.1", 5353, true],
    ["127.0.0.1", 11211, true],
    ["127.0.0.1", 12000, true],
    ["127.0.0.1", 27015, true],
    ["127.0.0.1", 19, true],
    ["10.0.0.1", 37, true],
    ["127.0.0.1", 0, true],
    ["224.0.0.1", 40000, true],
    ["239.255.255.250", 40000, true],
    ["255.255.255.255", 40000, true],
    ["0.0.0.0", 40000, true],
    ["ff02::1", 40000, true],
    ["FF05::2", 40000, true],
    ["::", 40000, true],
  ])("a source is answered or refused as its address and port say (case %#)", (address, port, refused) => {
    expect(isUnanswerable(address, port)).toBe(refused);
  });

  test("a port this process serves is refused while it is served, and only then", () => {
    const port = 40123;
    expect(isUnanswerable("203.0.113.9", port)).toBe(false);
    markServed(port);
    markServed(port);
    unmarkServed(port);
    expect(isUnanswerable("203.0.113.9", port)).toBe(true);
    unmarkServed(port);
    expect(isUnanswerable("203.0.113.9", port)).toBe(false);
    // A listed service port stays refused whatever is served and stopped there.
    markServed(11211);
    unmarkServed(11211);
    unmarkServed(11211);
    expect(isUnanswerable("203.0.113.9", 11211)).toBe(true);
    expect(SERVICE_PORTS_ABOVE_1023.every((p) => isUnanswerable("203.0.113.9", p))).toBe(true);
  });
});
