// ipVersion (src/transport/ip.ts) reads IP literals without node:net at start-up; node:net's isIP is the oracle.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { isIP } from "node:net";
import { ipVersion } from "../../src/transport/ip.ts";

const octet = fc.oneof(
  fc.integer({ min: 0, max: 300 }).map(String),
  fc.constantFrom("00", "01", "001", "0x7f", "-1", "", " 1", "1 ", "٣", "1e2", "256"),
);
const dotted = fc.array(octet, { minLength: 1, maxLength: 6 }).map((parts) => parts.join("."));
const ipv6 = fc.oneof(
  fc.ipV6(),
  fc.ipV6().map((a) => `${a}%eth0`),
  fc.ipV6().map((a) => `[${a}]`),
  fc.ipV4().map((a) => `::ffff:${a}`),
);
const anything = fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-fA-F:.%]{0,45}$/));

test("ipVersion says what node:net's isIP says, for addresses and near misses", () => {
  fc.assert(
    fc.property(fc.oneof(dotted, fc.ipV4(), fc.ipV4Extended(), ipv6, anything), (text) => {
      expect(ipVersion(text)).toBe(isIP(text) as 0 | 4 | 6);
    }),
    { numRuns: 20000 },
  );
});

test("ipVersion on the texts a user types", () => {
  for (const text of ["127.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "::", "fe80::1%lo", "localhost", "1.2.3"])
    expect(ipVersion(text)).toBe(isIP(text) as 0 | 4 | 6);
  expect(ipVersion("127.0.0.1\n")).toBe(0);
  expect(ipVersion("01.2.3.4")).toBe(isIP("01.2.3.4") as 0 | 4 | 6);
});
