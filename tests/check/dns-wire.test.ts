// The DNS wire codec of dns:// checks: queries, replies read with every length checked, hostile replies refused in
// bounded time, and answer lines in dig's own columns.
import { describe, expect, test } from "bun:test";
import { dnsQuestion, dnsQueryProblem, ipBytes } from "../../src/check/services/dns-query.ts";
import {
  DnsWireError,
  decodeMessage,
  encodeQuery,
  ipv6Text,
  nameFromText,
  nameText,
  readHeader,
  readName,
  recordLine,
  TYPES,
} from "../../src/check/services/dns-wire.ts";

const enc = new TextEncoder();

/** wireName writes a name uncompressed. */
function wireName(text: string): number[] {
  if (text === ".") return [0];
  return [...text.split(".").flatMap((l) => [l.length, ...enc.encode(l)]), 0];
}

/** reply builds a response to `id` for one question, with answers given as raw records. */
function reply(id: number, name: string, type: number, answers: number[][], flags = 0x8180, ancount = answers.length) {
  const q = [...wireName(name), type >> 8, type & 255, 0, 1];
  return Uint8Array.from([
    id >> 8,
    id & 255,
    flags >> 8,
    flags & 255,
    0,
    1,
    ancount >> 8,
    ancount & 255,
    0,
    0,
    0,
    0,
    ...q,
    ...answers.flat(),
  ]);
}

/** rr is an answer record whose owner is the question's name (a pointer to offset 12). */
function rr(type: number, rdata: number[], ttl = 300): number[] {
  return [
    0xc0,
    12,
    type >> 8,
    type & 255,
    0,
    1,
    (ttl >>> 24) & 255,
    (ttl >> 16) & 255,
    (ttl >> 8) & 255,
    ttl & 255,
    rdata.length >> 8,
    rdata.length & 255,
    ...rdata,
  ];
}

describe("queries", () => {
  test("a query has the ID, RD set, one question, class IN", () => {
    const q = encodeQuery(0xbeef, nameFromText("example.com"), TYPES.MX);
    const h = readHeader(q);
    expect(h).toMatchObject({ id: 0xbeef, qr: false, rd: true, opcode: 0, qdcount: 1, ancount: 0 });
    expect([...q.subarray(12)]).toEqual([...wireName("example.com"), 0, 15, 0, 1]);
  });

  test("names are checked: labels, length, characters", () => {
    expect(nameText(nameFromText("Example.COM."))).toBe("Example.COM.");
    expect(nameText(nameFromText("_http._tcp.example.com"))).toBe("_http._tcp.example.com.");
    expect(nameFromText(".")).toEqual([]);
    for (const bad of ["", "a..b", ".a", "a b", "a/b", "ex\u00e4mple.com", `${"a".repeat(64)}.com`])
      expect(() => nameFromText(bad)).toThrow(DnsWireError);
    // 4 labels of 63 are 256 octets on the wire: one too many.
    const long = Array(4).fill("a".repeat(63)).join(".");
    expect(() => nameFromText(long)).toThrow(/longer than 255/);
    expect(() => nameFromText(long.slice(2))).not.toThrow();
  });

  test("the URL's type and name: default A, any case, a bad type or parameter refused with the list", () => {
    expect(dnsQuestion("example.com", {})).toMatchObject({ type: "A", code: 1, text: "example.com." });
    expect(dnsQuestion("example.com", { type: "aaaa" })).toMatchObject({ type: "AAAA", code: 28 });
    expect(dnsQueryProblem("example.com", { type: "ANY" })).toBe(
      'unknown record type "ANY" (expected one of A, AAAA, CNAME, MX, TXT, NS, SRV, PTR)',
    );
    expect(dnsQueryProblem("example.com", { typ: "MX" })).toMatch(/unknown parameter "typ"/);
    expect(dnsQueryProblem("", {})).toMatch(/missing the name/);
    expect(dnsQueryProblem("a b", {})).toMatch(/not a DNS name/);
    expect(dnsQueryProblem("example.com", { type: "NS" })).toBeUndefined();
  });

  test("PTR takes an IP address and asks its arpa name; a name is asked as it is", () => {
    expect(dnsQuestion("192.0.2.10", { type: "PTR" }).text).toBe("10.2.0.192.in-addr.arpa.");
    expect(dnsQuestion("2001:db8::10", { type: "PTR" }).text).toBe(
      "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
    );
    expect(dnsQuestion("10.2.0.192.in-addr.arpa", { type: "PTR" }).text).toBe("10.2.0.192.in-addr.arpa.");
    expect(dnsQuestion("192.0.2.10", { type: "A" }).text).toBe("192.0.2.10.");
  });

  test("ipBytes reads IPv4 and IPv6 in every short form", () => {
    expect([...ipBytes("192.0.2.1")!]).toEqual([192, 0, 2, 1]);
    expect(ipv6Text(ipBytes("::")!)).toBe("::");
    expect(ipv6Text(ipBytes("::1")!)).toBe("::1");
    expect(ipv6Text(ipBytes("1::")!)).toBe("1::");
    expect(ipv6Text(ipBytes("2001:DB8:0:0:1:0:0:1")!)).toBe("2001:db8::1:0:0:1");
    expect(ipv6Text(ipBytes("::ffff:192.0.2.1")!)).toBe("::ffff:192.0.2.1");
    expect(ipv6Text(ipBytes("2001:db8:1:2:3:4:5:6")!)).toBe("2001:db8:1:2:3:4:5:6");
    expect(ipv6Text(ipBytes("2001:db8:0:1:1:1:1:1")!)).toBe("2001:db8:0:1:1:1:1:1");
    expect(ipBytes("example.com")).toBeUndefined();
  });
});

describe("replies", () => {
  const q = nameFromText("example.test");

  test("every record type prints its data as dig does", () => {
    const msg = decodeMessage(
      reply(7, "example.test", TYPES.A, [
        rr(TYPES.A, [192, 0, 2, 7]),
        rr(TYPES.AAAA, [0x20, 1, 0x0d, 0xb8, ...Array(11).fill(0), 1]),
        rr(TYPES.MX, [0, 10, 0xc0, 12]),
        rr(TYPES.SRV, [0, 5, 0, 7, 0x1f, 0x90, ...wireName("host.test")]),
        rr(TYPES.TXT, [5, ...enc.encode('a"b\\c'), 2, 0x01, 0xff]),
        rr(TYPES.CNAME, wireName("x.test")),
        rr(TYPES.NS, [1, 0x2e, 0xc0, 12]),
        rr(99, [1, 2, 0xab]),
      ]),
    );
    expect(msg.header).toMatchObject({ id: 7, qr: true, rcode: 0, tc: false });
    expect(nameText(msg.questions[0]!.name)).toBe("example.test.");
    expect(msg.answers.map((a) => a.data)).toEqual([
      "192.0.2.7",
      "2001:db8::1",
      "10 example.test.",
      "5 7 8080 host.test.",
      '"a\\"b\\\\c" "\\001\\255"',
      "x.test.",
      "\\..example.test.",
      "\\# 3 0102AB",
    ]);
    expect(msg.answers[0]!.ttl).toBe(300);
  });

  test("answer lines fall in dig's columns (captured from dig 9.18 +noall +answer)", () => {
    expect(recordLine("host.test.", 0, 1, "A", "192.0.2.10")).toBe("host.test.\t\t0\tIN\tA\t192.0.2.10");
    expect(recordLine("_http._tcp.srv.test.", 0, 1, "SRV", "5 7 8080 host.test.")).toBe(
      "_http._tcp.srv.test.\t0\tIN\tSRV\t5 7 8080 host.test.",
    );
    expect(recordLine("10.2.0.192.in-addr.arpa.", 0, 1, "PTR", "host.test.")).toBe(
      "10.2.0.192.in-addr.arpa. 0\tIN\tPTR\thost.test.",
    );
    expect(recordLine("averyveryverylongname-abcdefghij.sub.test.", 0, 1, "A", "192.0.2.11")).toBe(
      "averyveryverylongname-abcdefghij.sub.test. 0 IN\tA 192.0.2.11",
    );
    // +nottlid: the system resolver's form.
    expect(recordLine("host.test.", undefined, 1, "A", "192.0.2.10")).toBe("host.test.\t\tIN\tA\t192.0.2.10");
    expect(recordLine("10.2.0.192.in-addr.arpa.", undefined, 1, "PTR", "h.")).toBe(
      "10.2.0.192.in-addr.arpa. IN\tPTR\th.",
    );
    expect(recordLine("averyveryverylongname-abcdefghij.sub.test.", undefined, 1, "A", "192.0.2.11")).toBe(
      "averyveryverylongname-abcdefghij.sub.test. IN A\t192.0.2.11",
    );
  });

  test("compression loops and forward pointers are refused, not followed", () => {
    const self = Uint8Array.from([...Array(12).fill(0), 0xc0, 12]);
    expect(() => readName(self, 12)).toThrow(/does not point backwards/);
    // a.<pointer to 16> at 12, and at 16 a pointer back to 12: a two-step loop.
    const pair = Uint8Array.from([...Array(12).fill(0), 1, 0x61, 0xc0, 16, 0xc0, 12]);
    expect(() => readName(pair, 12)).toThrow(DnsWireError);
    expect(() => readName(pair, 16)).toThrow(DnsWireError);
    const forward = Uint8Array.from([...Array(12).fill(0), 0xc0, 14, 0]);
    expect(() => readName(forward, 12)).toThrow(/does not point backwards/);
    const cut = Uint8Array.from([...Array(12).fill(0), 0xc0]);
    expect(() => readName(cut, 12)).toThrow(/cut off/);
    expect(() => readName(Uint8Array.from([...Array(12).fill(0), 0x40, 0]), 12)).toThrow(/unknown label type/);
  });

  test("names over 255 octets are refused, pointers or not", () => {
    // 5 labels of 60 written out: 306 octets.
    const long = Uint8Array.from([
      ...Array(12).fill(0),
      ...Array(5)
        .fill([60, ...Array(60).fill(0x61)])
        .flat(),
      0,
    ]);
    expect(() => readName(long, 12)).toThrow(/longer than 255/);
    // A chain of pointers, each adding a 60-octet label before the last.
    const parts: number[] = [...Array(12).fill(0), 60, ...Array(60).fill(0x62), 0];
    let prev = 12;
    for (let i = 0; i < 5; i++) {
      const at = parts.length;
      parts.push(60, ...Array(60).fill(0x63), 0xc0 | (prev >> 8), prev & 255);
      prev = at;
    }
    expect(() => readName(Uint8Array.from(parts), prev)).toThrow(/longer than 255/);
  });

  test("truncated records, lengths past the end and wrong data sizes are refused", () => {
    const good = reply(1, "example.test", TYPES.A, [rr(TYPES.A, [192, 0, 2, 7])]);
    for (let cut = 0; cut < good.length; cut++)
      expect(() => decodeMessage(good.subarray(0, cut))).toThrow(DnsWireError);
    expect(decodeMessage(good).answers).toHaveLength(1);
    expect(() => decodeMessage(reply(1, "example.test", TYPES.A, [rr(TYPES.A, [1, 2, 3])]))).toThrow(/wanted 4/);
    expect(() => decodeMessage(reply(1, "example.test", TYPES.A, [rr(TYPES.MX, [0, 1, 3, 0x61, 0x62])]))).toThrow(
      DnsWireError,
    );
    expect(() => decodeMessage(reply(1, "example.test", TYPES.A, [rr(TYPES.TXT, [9, 0x61])]))).toThrow(/TXT/);
    // A name in rdata that runs past the record's length into the next one.
    expect(() =>
      decodeMessage(reply(1, "example.test", TYPES.A, [rr(TYPES.CNAME, [1, 0x61]), rr(TYPES.A, [0, 0, 0, 0])])),
    ).toThrow(DnsWireError);
    // 65535 answers claimed in a short message: refused at once.
    expect(() => decodeMessage(reply(1, "example.test", TYPES.A, [], 0x8180, 65535))).toThrow(DnsWireError);
  });

  test("random and mutated replies never crash, hang or throw anything but DnsWireError", () => {
    const base = reply(9, "example.test", TYPES.A, [
      rr(TYPES.CNAME, [1, 0x78, 0xc0, 12]),
      rr(TYPES.MX, [0, 10, 0xc0, 12]),
      rr(TYPES.TXT, [3, 0x61, 0x62, 0x63]),
    ]);
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) {
      const msg =
        i % 2 === 0
          ? Uint8Array.from({ length: rand() % 600 }, () => rand() & 255)
          : base.map((b) => (rand() % 12 === 0 ? rand() & 255 : b));
      try {
        decodeMessage(msg);
      } catch (err) {
        expect(err).toBeInstanceOf(DnsWireError);
      }
    }
    expect(performance.now() - started).toBeLessThan(4000);
    expect(q).toHaveLength(2);
  });
});
