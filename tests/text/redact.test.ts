// redact and redactIn: a password in a target is `***` wherever it is shown.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { redact, redactIn } from "../../src/text/redact.ts";

describe("redact", () => {
  test.each([
    ["http://alice:pw@host/", "http://alice:***@host/"],
    ["https://alice:p%40ss@host:8443/x?y=1", "https://alice:***@host:8443/x?y=1"],
    ["postgres://app:s3cret@db:5432/app", "postgres://app:***@db:5432/app"],
    ["redis://:onlypass@cache:6379", "redis://:***@cache:6379"],
    ["http://alice@host/", "http://alice@host/"],
    ["http://host/path@x:y", "http://host/path@x:y"],
    ["http://host/?u=a:b@c", "http://host/?u=a:b@c"],
    ["tcp://127.0.0.1:5432", "tcp://127.0.0.1:5432"],
    ["db:5432", "db:5432"],
  ])("%s → %s", (url, shown) => {
    expect(redact(url)).toBe(shown);
  });

  test("the WHATWG parser's own form of a URL with a password is redacted too", () => {
    const href = new URL("http://alice:pa:ss@w@127.0.0.1:8080/x").href;
    expect(redact(href)).toBe("http://alice:***@127.0.0.1:8080/x");
  });

  test("1000 arbitrary passwords: none is shown by redact or redactIn, the user and host are", () => {
    const word = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => /^[A-Za-z0-9._~!$&'()*+,;=%-]+$/.test(s));
    fc.assert(
      fc.property(word, word, (user, password) => {
        const url = new URL(`http://host.example/`);
        url.username = user;
        url.password = `PW${password}`;
        const shown = redact(url.href);
        expect(shown).not.toContain(url.password);
        expect(shown).toStartWith(`http://${url.username}:***@host.example/`);
        const message = redactIn(`fetch ${url.href} failed: "${url.href}" said no`);
        expect(message).not.toContain(url.password);
      }),
      { numRuns: 1000, seed: 4 },
    );
  });

  test("redactIn finds every URL in a message", () => {
    expect(redactIn('in argument "http://a:b@h/ --bogus": x; see https://c:d@e/')).toBe(
      'in argument "http://a:***@h/ --bogus": x; see https://c:***@e/',
    );
  });
});
