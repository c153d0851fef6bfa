// Where tests put the figures they measure (RSS, rates, counts): a file, so a passing suite stays quiet.
import { appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * FIGURES is the file: $UPCAT_TEST_FIGURES to keep them (`UPCAT_TEST_FIGURES=$PWD/figures.log npm test`), else
 * upcat-test-figures.log in the run's temporary folder, which goes with the run (tests/support/scratch.ts).
 */
export const FIGURES = process.env.UPCAT_TEST_FIGURES ?? join(tmpdir(), "upcat-test-figures.log");

/** figure appends one line, stamped with the time, to FIGURES. */
export function figure(line: string): void {
  appendFileSync(FIGURES, `${new Date().toISOString()} ${line}\n`);
}
