// parseVersion and compareVersions: what upgrade accepts as a release and how it orders them.
import { expect, test } from "bun:test";
import { compareVersions, parseVersion } from "../../src/upgrade/version.ts";

test.each([
  ["0.3.0", "0.3.0"],
  ["v0.3.0", "0.3.0"],
  ["10.20.30", "10.20.30"],
  ["1.0.0-rc.1", "1.0.0-rc.1"],
  ["1.0", undefined],
  ["01.0.0", undefined],
  [" 1.0.0", undefined],
  ["1.0.0\n", undefined],
  ["latest", undefined],
  ["", undefined],
  ["1.0.0/../../x", undefined],
])("parseVersion(%p) is %p", (text, want) => {
  expect(parseVersion(text)).toBe(want);
});

test.each([
  ["0.2.0", "0.1.0", 1],
  ["0.1.0", "0.2.0", -1],
  ["0.10.0", "0.9.0", 1],
  ["1.0.0", "1.0.0", 0],
  ["1.0.0", "1.0.0-rc.1", 1],
  ["1.0.0-rc.1", "1.0.0-rc.2", -1],
])("compareVersions(%p, %p) has the sign %p", (a, b, sign) => {
  expect(Math.sign(compareVersions(a, b))).toBe(sign);
});
