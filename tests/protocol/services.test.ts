// The RFC services as pure values: what each answers to a datagram and a stream, and how its client judges a reply.
import { describe, expect, test } from "bun:test";
import { chargen, chargenLine } from "../../src/protocol/chargen.ts";
import { daytime, daytimeText } from "../../src/protocol/daytime.ts";
import { discard } from "../../src/protocol/discard.ts";
import { echo } from "../../src/protocol/echo.ts";
import { protocols } from "../../src/protocol/index.ts";
import { MAX_QUOTE, parseQuotes, qotd } from "../../src/protocol/qotd.ts";
import { readTime, time, timeToDate, timeValue } from "../../src/protocol/time.ts";
import { UsageError } from "../../src/errors.ts";

const peer = { transport: "udp" as const, address: "127.0.0.1", port: 40000 };
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe("the table", () => {
  test("every protocol has a name, an RFC port, a spec and a client", () => {
    expect(Object.values(protocols).map((p) => [p.name, p.port, p.spec])).toEqual([
      ["upper", 12000, "Kurose & Ross 2.7"],
      ["echo", 7, "RFC 862"],
      ["discard", 9, "RFC 863"],
      ["chargen", 19, "RFC 864"],
      ["qotd", 17, "RFC 865"],
      ["daytime", 13, "RFC 867"],
      ["time", 37, "RFC 868"],
    ]);
  });
});

describe("echo", () => {
  test("a datagram and a stream come back unchanged", () => {
    expect(echo.datagram(enc("Hi ß"), peer)).toEqual(enc("Hi ß"));
    const session = echo.stream(peer);
    expect(session.data!(enc("abc"))).toEqual(enc("abc"));
    expect(echo.client.verify(enc("x"), enc("x"))).toBeUndefined();
    expect(echo.client.verify(enc("X"), enc("x"))).toContain("not the message");
  });
});

describe("discard", () => {
  test("nothing comes back, on either transport", () => {
    expect(discard.datagram(enc("gone"), peer)).toBeUndefined();
    const session = discard.stream(peer);
    expect(session.data).toBeUndefined();
    expect(session.greet).toBeUndefined();
    expect(discard.client.replies).toBe(false);
    expect(discard.client.verify(enc("x"), enc("y"))).toContain("sent 1 bytes back");
  });
});

describe("chargen", () => {
  test("a line is 72 printable characters and CRLF, each line one step along", () => {
    const first = dec(chargenLine(0));
    expect(first).toBe(`${Array.from({ length: 72 }, (_, i) => String.fromCharCode(32 + i)).join("")}\r\n`);
    expect(dec(chargenLine(1)).slice(0, 3)).toBe('!"#');
    expect(dec(chargenLine(94)).slice(0, 2)).toBe("~ ");
    expect(chargenLine(95)).toEqual(chargenLine(0));
  });

  test("each datagram gets one line of 74 bytes, within the RFC's 512", () => {
    const a = chargen.datagram(new Uint8Array(0), peer)!;
    const b = chargen.datagram(new Uint8Array(0), peer)!;
    expect(a.length).toBe(74);
    expect(b.length).toBe(74);
    expect(a).not.toEqual(b);
    expect(chargen.client.verify(a, new Uint8Array(0))).toBeUndefined();
  });

  test("the stream pulls whole cycles, so pieces join without a seam", () => {
    const session = chargen.stream(peer);
    const two = Buffer.concat([session.pull!(), session.pull!()]);
    const lines = dec(two).split("\r\n").slice(0, -1);
    expect(lines.length).toBeGreaterThan(1000);
    lines.forEach((line, n) => expect(line).toBe(dec(chargenLine(n)).slice(0, 72)));
  });

  test("the client refuses bytes outside the pattern", () => {
    expect(chargen.client.verify(new Uint8Array([0x41, 0x00]), new Uint8Array(0))).toContain("0x0");
    expect(chargen.client.verify(new Uint8Array(0), new Uint8Array(0))).toContain("no characters");
  });
});

describe("time", () => {
  test.each([
    ["1900-01-01T00:00:00Z", 0],
    ["1970-01-01T00:00:00Z", 2_208_988_800],
    ["2026-11-24T06:00:00Z", 4_004_488_800],
    ["2036-02-07T06:28:15Z", 4_294_967_295],
    ["2036-02-07T06:28:16Z", 0],
    ["2036-02-07T06:28:17Z", 1],
  ])("%s is %d", (iso, value) => {
    expect(timeValue(Date.parse(iso))).toBe(value);
  });

  test.each([
    [2_208_988_800, "1970-01-01T00:00:00.000Z"],
    [4_004_488_800, "2026-11-24T06:00:00.000Z"],
    [4_294_967_295, "2036-02-07T06:28:15.000Z"],
    [0, "2036-02-07T06:28:16.000Z"],
    [2 ** 31 - 1, "2104-02-26T09:42:23.000Z"],
  ])("after the 2036 wrap the reading goes on: %d is %s", (value, iso) => {
    expect(timeToDate(value).toISOString()).toBe(iso);
  });

  test("a datagram gets 4 bytes of now; the client shows them as a date", () => {
    const reply = time.datagram(new Uint8Array(0), peer)!;
    expect(reply.length).toBe(4);
    expect(Math.abs(timeToDate(readTime(reply)).getTime() - Date.now())).toBeLessThan(2000);
    expect(time.client.show!(reply)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(time.client.verify(reply.subarray(0, 3), new Uint8Array(0))).toContain("3 bytes");
  });

  test("over TCP it greets with the time and closes", () => {
    const session = time.stream(peer);
    expect(session.greet!()!.length).toBe(4);
    expect(session.closeAfterGreeting).toBe(true);
  });
});

describe("daytime", () => {
  test.each([
    [new Date(2026, 10, 24, 6, 4, 5), "Tue Nov 24 06:04:05 2026\r\n"],
    [new Date(2027, 0, 3, 23, 59, 59), "Sun Jan  3 23:59:59 2027\r\n"],
  ])("%p is ctime's form", (date, text) => {
    expect(daytimeText(date)).toBe(text);
  });

  test("greets and closes over TCP; answers any datagram", () => {
    expect(dec(daytime.datagram(new Uint8Array(0), peer)!)).toMatch(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/);
    expect(daytime.stream(peer).closeAfterGreeting).toBe(true);
    expect(daytime.client.verify(new Uint8Array([0xff]), new Uint8Array(0))).toContain("not text");
  });
});

describe("qotd", () => {
  test.each([
    ["one\ntwo\n\nthree\n", ["one", "two", "three"]],
    ["first line\nstill first\n%\nsecond\n%\n", ["first line\nstill first", "second"]],
    ["a\r\nb\r\n", ["a", "b"]],
  ])("parseQuotes(%p)", (text, quotes) => {
    expect(parseQuotes(text, "q.txt")).toEqual(quotes);
  });

  test.each([
    ["", "holds no quotes"],
    ["\n%\n%\n", "holds no quotes"],
    ["x".repeat(510), "quote 1 in q.txt is 512 bytes"],
  ])("parseQuotes refuses %p", (text, why) => {
    expect(() => parseQuotes(text, "q.txt")).toThrow(UsageError);
    expect(() => parseQuotes(text, "q.txt")).toThrow(why);
  });

  test("every built-in quote is under 512 bytes, ends in CRLF, and is picked from the set", () => {
    const q = qotd();
    const seen = new Set<string>();
    for (let k = 0; k < 200; k++) {
      const reply = q.datagram(new Uint8Array(0), peer)!;
      expect(reply.length).toBeLessThanOrEqual(MAX_QUOTE);
      expect(dec(reply).endsWith("\r\n")).toBe(true);
      seen.add(dec(reply));
    }
    expect(seen.size).toBeGreaterThan(1);
    const mine = qotd(["only this"]);
    expect(dec(mine.stream(peer).greet!()!)).toBe("only this\r\n");
  });
});
