// Probe strings as users type them: backslash escapes into bytes, unknown escapes refused.
import { expect, test } from "bun:test";
import { readEscapes } from "../../src/text/escapes.ts";
import { UsageError } from "../../src/errors.ts";

test.each([
  ["HELO x\\r\\n", [..."HELO x"].map((c) => c.charCodeAt(0)).concat(13, 10)],
  ["\\x00\\xff\\x41", [0, 255, 65]],
  ["a\\tb\\\\c\\0", [97, 9, 98, 92, 99, 0]],
  ["ß😀", [0xc3, 0x9f, 0xf0, 0x9f, 0x98, 0x80]],
  ["", []],
])("escapes read as printf reads them: %j", (text, bytes) => {
  expect([...readEscapes(text, "--send")]).toEqual(bytes);
});

test.each(["\\", "\\q", "\\x4", "\\xZZ"])("%j is a usage error naming the option", (text) => {
  expect(() => readEscapes(text, "--expect")).toThrow(UsageError);
  expect(() => readEscapes(text, "--expect")).toThrow(/--expect/);
});
