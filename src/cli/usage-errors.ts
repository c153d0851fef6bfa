// How a command answers a wrong command line of its own, where its readers need more than exit 2 and a line on stderr.

/**
 * UsageErrorHandler answers a usage error (the command's own, or cac's) with an exit status, or undefined for the usual
 * one.
 */
export type UsageErrorHandler = (err: Error, options: Record<string, unknown>) => Promise<number | undefined>;

/** isUsageError says whether an error is a wrong command line: ours, or cac's (unknown option, missing value). */
export function isUsageError(err: unknown): err is Error {
  return err instanceof Error && (err.name === "UsageError" || err.name === "CACError");
}
