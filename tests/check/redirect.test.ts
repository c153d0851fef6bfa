// The redirect rules as pure functions: what an origin is, where the user's credentials may go, when a hop is refused.
import { describe, expect, test } from "bun:test";
import { follow, type Hop, requestHeaders, sameOrigin, startChain, withCredentials } from "../../src/check/redirect.ts";

const HEADERS = [
  ["Authorization", "Bearer s3cret"],
  ["cookie", "sid=1"],
  ["PROXY-AUTHORIZATION", "Basic eA=="],
  ["Host", "typed.example"],
  ["X-Kept", "yes"],
] as const;
const names = (hop: Hop) => requestHeaders(hop.chain).map(([name]) => name.toLowerCase());
const next = (hop: Hop, to: string, allowDowngrade = false) => follow(hop, new URL(to, hop.url), 302, allowDowngrade);
const hop = (h: Hop | { refused: string }): Hop => {
  if ("refused" in h) throw new Error(`refused: ${JSON.stringify(h)}`);
  return h;
};

describe("sameOrigin", () => {
  test.each([
    ["http://h/a", "http://h:80/b", true],
    ["https://H:443/", "https://h/x?y", true],
    ["http://h:8080/", "http://h:8080/z", true],
    ["http://[::1]/", "http://[0:0::1]:80/", true],
    ["http://h/", "https://h/", false],
    ["http://h:80/", "http://h:443/", false],
    ["https://h/", "https://h:8443/", false],
    ["http://h/", "http://h.example/", false],
    ["http://127.0.0.1/", "http://127.0.0.2/", false],
  ])("%s and %s: %p", (a, b, same) => {
    expect(sameOrigin(new URL(a), new URL(b))).toBe(same);
  });
});

describe("follow", () => {
  test("the same origin keeps every header and the URL's credentials; the hop's URL never holds them", () => {
    const start = startChain("http://alice:p%40ss@h/login", HEADERS);
    expect(start.url.href).toBe("http://h/login");
    const near = hop(next(start, "/final"));
    expect(near.url.href).toBe("http://h/final");
    expect(names(near)).toEqual(["authorization", "cookie", "proxy-authorization", "host", "x-kept"]);
    expect(withCredentials(near.chain, near.url).href).toBe("http://alice:p%40ss@h/final");
    // withCredentials copies: the hop's own URL is left bare.
    expect(near.url.username).toBe("");
    expect(hop(next(start, "http://h:80/final")).chain.trusted).toBe(true);
  });

  test.each([
    ["a change of scheme", "http://h/login", "https://h/final"],
    ["a change of port", "http://h/login", "http://h:8080/final"],
    ["a change of host", "http://h/login", "http://h2/final"],
    ["credentials of the target's own", "http://alice:pw@h/login", "http://bob:pw@h/final"],
    ["credentials where the target had none", "http://h/login", "http://bob:pw@h/final"],
  ])("%s drops Authorization, Cookie, Proxy-Authorization, Host and the URL's credentials", (_, from, to) => {
    const away = hop(next(startChain(from, HEADERS), to));
    expect(names(away)).toEqual(["x-kept"]);
    const dial = withCredentials(away.chain, away.url);
    expect([dial.username, dial.password]).toEqual(["", ""]);
  });

  test("a Location that repeats the target's own credentials is the same origin", () => {
    const same = hop(next(startChain("http://alice:pw@h/login", HEADERS), "http://alice:pw@h/final"));
    expect(same.chain.trusted).toBe(true);
    expect(same.url.href).toBe("http://h/final");
  });

  test("once off the origin, a redirect back does not bring the credentials back", () => {
    const away = hop(next(startChain("https://h/login", HEADERS), "https://elsewhere/x"));
    const back = hop(next(away, "https://h/final"));
    expect(back.chain.trusted).toBe(false);
    expect(names(back)).toEqual(["x-kept"]);
  });

  test("https to http is refused, naming the URLs without a password, unless allowDowngrade", () => {
    const start = startChain("https://alice:pw@h/login", HEADERS);
    expect(next(start, "http://bob:hunter2@h/final")).toEqual({
      refused: "downgrade",
      error: "redirected from https to http: HTTP 302 to http://bob:***@h/final",
    });
    const allowed = hop(next(start, "http://h/final", true));
    expect(allowed.url.href).toBe("http://h/final");
    expect(names(allowed)).toEqual(["x-kept"]);
    // An http target may go to https, and back to http: it never asked for TLS.
    const up = hop(next(startChain("http://h/", HEADERS), "https://h/"));
    expect("refused" in next(up, "http://h/x")).toBe(false);
  });

  test("a long Location is cut in the message", () => {
    const refusal = next(startChain("https://h/", []), `http://h/${"x".repeat(5000)}`);
    expect("refused" in refusal && refusal.error.length).toBeLessThan(400);
  });
});
