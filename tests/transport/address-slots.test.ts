// --max-per-address's count, shared by serve's TCP listeners and the relay: one address, one IPv6 /64, one count.
import { expect, test } from "bun:test";
import { AddressSlots } from "../../src/transport/address-slots.ts";

test("an address holds at most max slots, and one given back can be taken again", () => {
  const slots = new AddressSlots();
  const a = slots.take("192.0.2.1", 2);
  expect(slots.take("192.0.2.1", 2)).toBe(a!);
  expect(slots.take("192.0.2.1", 2)).toBeUndefined();
  // Another address has its own count; an IPv4-mapped IPv6 address is the IPv4 address.
  expect(slots.take("192.0.2.2", 2)).toBe("192.0.2.2");
  expect(slots.take("::ffff:192.0.2.1", 2)).toBeUndefined();
  slots.give(a!);
  expect(slots.take("192.0.2.1", 2)).toBe(a!);
});

test("IPv6 addresses of one /64 share a count; 0 is no cap", () => {
  const slots = new AddressSlots();
  const key = slots.take("2001:db8:1:2::1", 1);
  expect(slots.take("2001:db8:1:2:ffff::9", 1)).toBeUndefined();
  expect(slots.take("2001:db8:1:3::1", 1)).toBeDefined();
  for (let i = 0; i < 1000; i++) expect(slots.take("2001:db8:1:2::1", 0)).toBe(key!);
});
