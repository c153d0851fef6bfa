// UpgradeError: a step of `upcat upgrade` failed; its message is the one line the user reads (exit 1).

/** UpgradeError says which step failed and what to do; nothing was replaced when one is thrown. */
export class UpgradeError extends Error {
  override name = "UpgradeError";
}
