// The ring of send times both UDP load paths keep: oldest first, across the wrap, lost ones dropped by age.
import { expect, test } from "bun:test";
import { SendTimes } from "../../src/bench/send-times.ts";

test("replies take the oldest send time first, across the end of the ring", () => {
  const t = new SendTimes(3);
  t.push(2, 10);
  expect(t.shift()).toBe(10);
  t.push(2, 20);
  expect(t.count).toBe(3);
  expect([t.shift(), t.shift(), t.shift()]).toEqual([10, 20, 20]);
  expect(t.count).toBe(0);
});

test("expire drops those sent before a time, and clear all of them, each saying how many", () => {
  const t = new SendTimes(4);
  t.push(1, 5);
  t.push(2, 8);
  t.push(1, 12);
  expect(t.expire(9)).toBe(3);
  expect(t.count).toBe(1);
  expect(t.expire(9)).toBe(0);
  t.push(3, 15);
  expect(t.clear()).toBe(4);
  expect(t.count).toBe(0);
});
