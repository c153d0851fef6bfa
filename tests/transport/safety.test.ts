// The rules that keep a reachable server from being a weapon: allow lists, per-source rate limits, reflection sources.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { parseAllowList } from "../../src/transport/allow-list.ts";
import { RateLimiter } from "../../src/transport/rate-limit.ts";
import { isUnanswerable } from "../../src/transport/reflection.ts";

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

  test.each(["", "10.0.0.0/33", "::/129", "10.0.0.0/x", "host.example", "10.0.0/8", "1.2.3.4/8/9", "10.0.0.0/-1"])("%p is refused", (text) => {
    expect(() => parseAllowList([text])).toThrow(UsageError);
  });
});

describe("RateLimiter", () => {
  test("a burst of `rate`, then one more per 1/rate seconds", () => {
    const limiter = new RateLimiter(5);
    const at0 = Array.from({ length: 8 }, () => limiter.take("10.0.0.1", 0));
    expect(at0).toEqual([true, true, true, true, true, false, false, false]);
    expect(limiter.take("10.0.0.1", 199)).toBe(false);
    expect(limiter.take("10.0.0.1", 201)).toBe(true);
    expect(limiter.take("10.0.0.1", 202)).toBe(false);
  });

  test("each address has its own bucket, whatever its ports", () => {
    const limiter = new RateLimiter(1);
    expect(limiter.take("10.0.0.1", 0)).toBe(true);
    expect(limiter.take("10.0.0.1", 0)).toBe(false);
    expect(limiter.take("10.0.0.2", 0)).toBe(true);
  });

  test("a flood from 200 000 spoofed addresses keeps the table bounded", () => {
    const limiter = new RateLimiter(10);
    for (let k = 0; k < 200_000; k++) limiter.take(`10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`, k / 1000);
    expect(limiter.size).toBeLessThanOrEqual(65_536);
    expect(limiter.size).toBeGreaterThan(1000);
  });
});

describe("isUnanswerable", () => {
  test.each([
    ["127.0.0.1", 40000, false],
    ["::1", 40000, false],
    ["192.0.2.7", 1024, false],
    ["127.0.0.1", 7, true],
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
  ])("%s port %d → %p", (address, port, refused) => {
    expect(isUnanswerable(address, port)).toBe(refused);
  });
});
