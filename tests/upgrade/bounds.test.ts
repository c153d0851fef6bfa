// The bounds of upgrade as messages name them, and their order: each cap is far above what a real release sends.
import { expect, test } from "bun:test";
import { ASSET_MAX, sizeName, TEXT_MAX, TRIAL_OUTPUT_MAX } from "../../src/upgrade/bounds.ts";

test.each([
  [TEXT_MAX, "64 KiB"],
  [ASSET_MAX, "256 MiB"],
  [TRIAL_OUTPUT_MAX, "4 KiB"],
  [1536, "1536 bytes"],
])("sizeName(%p) is %p", (bytes, name) => {
  expect(sizeName(bytes)).toBe(name);
});

test("a release binary (90-115 MB) fits the asset cap with room; its SHA256SUMS fits the text cap", () => {
  expect(ASSET_MAX).toBeGreaterThan(2 * 115e6);
  // One sha256sum line a target: 64 hex, two spaces, a name of some 40 characters.
  expect(TEXT_MAX).toBeGreaterThan(100 * 110);
});
