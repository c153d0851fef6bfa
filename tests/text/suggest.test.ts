// "Did you mean": edit distances as git and cargo count them, and the suggestion that only a near word gets.
import { expect, test } from "bun:test";
import { distance, suggest } from "../../src/text/suggest.ts";

test.each([
  ["", "", 0],
  ["expect", "expect", 0],
  ["expct", "expect", 1],
  ["exepct", "expect", 1],
  ["chek", "check", 1],
  ["sned", "send", 1],
  ["timout", "timeout", 1],
  ["", "udp", 3],
  ["kitten", "sitting", 3],
])("distance(%j, %j) is %d", (a, b, d) => {
  expect(distance(a, b)).toBe(d);
  expect(distance(b, a)).toBe(d);
});

const CHECK = ["file", "udp", "timeout", "send", "expect", "match", "protocol", "tls", "quiet", "json"];

test.each([
  ["expct", "expect"],
  ["exepct", "expect"],
  ["jsno", "json"],
  ["tiemout", "timeout"],
  ["quite", "quiet"],
  ["protcol", "protocol"],
  ["bogus", undefined],
  ["x", undefined],
  ["ud", "udp"],
  ["expect", undefined],
])("suggest(%j) among check's options is %j", (word, near) => {
  expect(suggest(word, CHECK)).toBe(near);
});

test("a tie goes to the word listed first", () => {
  expect(suggest("sand", ["send", "band"])).toBe("send");
  expect(suggest("sand", ["band", "send"])).toBe("band");
});
