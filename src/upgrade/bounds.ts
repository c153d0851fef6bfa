// Every bound of `upcat upgrade` on what a release server or a downloaded binary sends, named once (the README
// states them).

/** TEXT_MAX caps VERSION and SHA256SUMS: a few hundred bytes each; 64 KiB is room for a thousand assets. */
export const TEXT_MAX = 64 << 10;

/** ASSET_MAX caps the binary: release binaries are 90-115 MB, so an endless or forged one stops at 256 MiB. */
export const ASSET_MAX = 256 << 20;

/** TRIAL_OUTPUT_MAX caps what the new binary's --version may print: "upcat 1.2.3 (abcdef0)" is some 30 bytes. */
export const TRIAL_OUTPUT_MAX = 4 << 10;

/**
 * TRIAL_GRACE_MS is how long the new binary's output may stay open after it exited: longer means a process it left
 * behind holds the pipe, and upgrade does not wait for it.
 */
export const TRIAL_GRACE_MS = 250;

/** sizeName writes a bound for a message: 65536 → "64 KiB". */
export function sizeName(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1 << 10 && bytes % (1 << 10) === 0) return `${bytes / (1 << 10)} KiB`;
  return `${bytes} bytes`;
}
