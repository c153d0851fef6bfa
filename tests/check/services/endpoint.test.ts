// Service URLs read into host, port and endpoint: the password kept for the wire and hidden from every name shown.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { UsageError } from "../../../src/errors.ts";
import { parseServiceUrl, SERVICES, serviceOf } from "../../../src/check/services/endpoint.ts";
import { expandSpec } from "../../../src/check/spec.ts";

describe("parseServiceUrl", () => {
  test.each([
    ["postgres://app:s%40cret@db:5433/shop?sslmode=require", "postgres", "db", 5433, "app", "s@cret", "shop", true],
    ["postgresql://db", "postgres", "db", 5432, undefined, undefined, "", false],
    ["mariadb://root@[::1]/mysql", "mysql", "::1", 3306, "root", undefined, "mysql", false],
    ["redis://:pw@cache/2", "redis", "cache", 6379, undefined, "pw", "2", false],
    ["rediss://u:pw@cache:6380", "redis", "cache", 6380, "u", "pw", "", true],
    ["memcached://127.0.0.1", "memcached", "127.0.0.1", 11211, undefined, undefined, "", false],
    ["amqp://guest:guest@mq/%2F", "amqp", "mq", 5672, "guest", "guest", "/", false],
    ["SMTP://mail", "smtp", "mail", 25, undefined, undefined, "", false],
    ["ssh://git@host:2222", "ssh", "host", 2222, "git", undefined, "", false],
    ["dns://127.0.0.1:5353/example.com?type=MX", "dns", "127.0.0.1", 5353, undefined, undefined, "example.com", false],
    ["dns:///example.com", "dns", "", 53, undefined, undefined, "example.com", false],
  ])("%s", (text, kind, host, port, user, password, path, tls) => {
    const t = parseServiceUrl(text);
    expect(t.service.kind).toBe(kind as keyof typeof SERVICES);
    expect([t.host, t.port, t.service.user, t.service.password, t.service.path, t.service.tls]).toEqual([
      host,
      port,
      user,
      password,
      path,
      tls,
    ]);
    expect(t.transport).toBe(SERVICES[t.service.kind].transport);
    if (password !== undefined) expect(t.service.url).not.toContain(`:${password}@`);
  });

  test.each([
    ["postgres://", "missing host"],
    ["redis://host:0", 'port "0"'],
    ["redis://host:70000", "not a URL"],
    ["ssh://[zz]:22", "not a URL"],
    ["mysql://h/db#frag", "fragment"],
    ["amqp://u:%zz@h", "percent-encoding"],
    ["dns://127.0.0.1/example.com?type=BOGUS", 'unknown record type "BOGUS"'],
  ])("%s is refused: %s", (text, why) => {
    expect(() => parseServiceUrl(text)).toThrow(UsageError);
    expect(() => parseServiceUrl(text)).toThrow(why);
  });

  test("a refused URL's message never carries its password", () => {
    for (const text of ["postgres://u:Sekr1t@h:0/db", "redis://:Sekr1t@h/db#x", "amqp://u:Sekr1t@h:99999"]) {
      let message = "";
      try {
        parseServiceUrl(text);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain("***");
      expect(message).not.toContain("Sekr1t");
    }
  });

  test("expandSpec reads a service URL as one target, never as a port list", () => {
    const [t, ...rest] = expandSpec("redis://cache:6379");
    expect(rest).toEqual([]);
    expect(t!.service?.kind).toBe("redis");
    expect(serviceOf("tcp://cache:6379")).toBeUndefined();
    expect(serviceOf("http://cache")).toBeUndefined();
  });

  test("1000 arbitrary users and passwords: each comes back decoded, and the password is never in the name", () => {
    const text = fc.string({ minLength: 1, maxLength: 16, unit: "grapheme" });
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(SERVICES).flatMap((s) => s.schemes)), text, text, (s, user, pw) => {
        const password = `Zq${pw}`;
        const url = `${s}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@host.example:1234/x`;
        const t = parseServiceUrl(url);
        expect(t.service.user).toBe(user);
        expect(t.service.password).toBe(password);
        expect(t.service.url).not.toContain(encodeURIComponent(password));
        expect(t.service.url).toContain(":***@host.example:1234");
      }),
      { numRuns: 1000, seed: 27 },
    );
  });

  test("number-like and odd ports are read as the URL parser reads them, or refused", () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -5, max: 70000 }).map(String), fc.string({ maxLength: 6 })), (port) => {
        let t: ReturnType<typeof parseServiceUrl> | undefined;
        try {
          t = parseServiceUrl(`redis://h:${port}`);
        } catch (err) {
          expect(err).toBeInstanceOf(UsageError);
          return;
        }
        expect(t.port).toBeGreaterThanOrEqual(1);
        expect(t.port).toBeLessThanOrEqual(65535);
      }),
      { numRuns: 500, seed: 5 },
    );
  });
});
