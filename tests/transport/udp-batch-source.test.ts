// The batch engine's source addresses read from a sockaddr as the text glibc's inet_ntop (so Bun's socket) gives.
import { expect, test } from "bun:test";
import { plainAddress } from "../../src/transport/address.ts";
import { source, sourcePort, sourceText } from "../../src/transport/udp-batch/source-text.ts";
import { addressBytes, flowKey, loopbackFlow, sourcePrefix } from "../../src/transport/prefix.ts";

const V6 = ["::1", "::", "2001:db8::1", "fe80::1:2", "1::", "1:0:0:1::1", "1:2:3:4:5:6:7:8", "::1.2.3.4", "0:0:1::"];
const V6_EXTRA = ["2001:db8:0:0:1:0:0:1", "ff02::fb", "::ffff:0:1", "1:0:2:0:3:0:4:0"];

/** ntop is Python's socket.inet_ntop of each address: glibc's text, what Bun's socket reports. */
function ntop(addresses: string[]): string[] {
  const code = `import json, socket, sys
v6 = socket.AF_INET6
print(json.dumps([socket.inet_ntop(v6, socket.inet_pton(v6, a)) for a in json.loads(sys.argv[1])]))`;
  const r = Bun.spawnSync(["python3", "-c", code, JSON.stringify(addresses)]);
  return JSON.parse(r.stdout.toString());
}

/** sockaddr6 is a sockaddr_in6 for an address and port, as recvmmsg fills one in. */
function sockaddr6(address: string, port: number): Uint8Array {
  const bytes = new Uint8Array(32);
  bytes[0] = 10; // AF_INET6
  bytes[2] = port >> 8;
  bytes[3] = port & 0xff;
  bytes.set(addressBytes(address)!, 8);
  return bytes;
}

test("IPv6 sources read as inet_ntop writes them", () => {
  const all = [...V6, ...V6_EXTRA];
  expect(all.map((a) => sourceText(sockaddr6(a, 1), 0))).toEqual(ntop(all));
});

test("an IPv4 client of a dual-stack socket reads as ::ffff:a.b.c.d, a sockaddr_in as a.b.c.d; and the ports", () => {
  const mapped = sockaddr6("::ffff:127.0.0.1", 40000);
  expect([sourceText(mapped, 0), sourcePort(mapped, 0)]).toEqual(["::ffff:127.0.0.1", 40000]);
  const v4 = new Uint8Array([2, 0, 0x9c, 0x41, 10, 1, 2, 254, 0, 0, 0, 0, 0, 0, 0, 0]);
  expect([sourceText(v4, 0), sourcePort(v4, 0)]).toEqual(["10.1.2.254", 40001]);
  // Twice: the second comes from the cache, and must be the same text.
  expect(sourceText(v4, 0)).toBe("10.1.2.254");
});

test.each(["::ffff:127.0.0.1", "::ffff:127.9.8.7", "::ffff:10.9.8.7", "::1", "2001:db8::1", "::1.2.3.4", "::2"])(
  "%s: its keys are those of its text (plainAddress, sourcePrefix, loopbackFlow), from the cache too",
  (a) => {
    for (const port of [0, 1, 40000, 65535])
      for (let again = 0; again < 2; again++) {
        const from = source(sockaddr6(a, port), 0);
        expect([from.plain, from.prefix, flowKey(from.loopback, port)]).toEqual([
          plainAddress(from.text),
          sourcePrefix(from.text),
          loopbackFlow(from.text, port),
        ]);
      }
  },
);

test("the keys of an AF_INET source are those of its text", () => {
  for (const [a, b, c, d] of [
    [127, 0, 0, 1],
    [127, 255, 255, 255],
    [10, 1, 2, 3],
    [192, 0, 2, 200],
  ])
    for (const port of [1, 65535]) {
      const from = source(new Uint8Array([2, 0, port >> 8, port & 255, a!, b!, c!, d!]), 0);
      expect([from.text, from.plain, from.prefix, flowKey(from.loopback, port)]).toEqual([
        `${a}.${b}.${c}.${d}`,
        `${a}.${b}.${c}.${d}`,
        sourcePrefix(from.text),
        loopbackFlow(from.text, port),
      ]);
    }
});
