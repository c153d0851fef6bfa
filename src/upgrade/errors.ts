// UpgradeError: a step of `upcat upgrade` failed; its message is the one line the user reads (exit 1).

/**
 * UpgradeCode is the failure as data, for callers and tests to tell apart without reading words: `timeout` (a request
 * was not whole within --timeout), `stalled` (a download sent nothing for --timeout), `too-large` (past a bound of
 * bounds.ts), `trial` (the new binary failed its --version), `failed` (any other step).
 */
export type UpgradeCode = "timeout" | "stalled" | "too-large" | "trial" | "failed";

/** UpgradeError says which step failed and what to do; nothing was replaced when one is thrown. */
export class UpgradeError extends Error {
  override name = "UpgradeError";

  constructor(
    message: string,
    readonly code: UpgradeCode = "failed",
  ) {
    super(message);
  }
}
