// What `check --wait` says while it waits, as wait-for-it does: whom it waits for, at once, then every few seconds who
// is still awaited and why. Lines on stderr, for a container's log; a terminal's live line is check.ts's own.
import { targetText } from "../check/report/target.ts";
import type { CheckTarget, Outcome } from "../check/result.ts";
import type { Progress } from "../check/run.ts";
import { redactIn } from "../text/redact.ts";
import { cut, escapeControl } from "../text/shown.ts";
import { formatDuration } from "../text/units.ts";

/** NOTE_EVERY_MS is how often a note names the targets still awaited: often enough for a log, rarely enough to read. */
export const NOTE_EVERY_MS = 5000;
/** NAMED is how many targets one line names; a fleet's line ends in "and N more". */
const NAMED = 5;
/** WHY_MAX bounds the reason given for one target. */
const WHY_MAX = 80;

/**
 * waitNotes says whom --wait waits for, and returns what to call with each progress: a line every NOTE_EVERY_MS naming
 * the targets still awaited, each with its last try's state and reason.
 */
export function waitNotes(
  say: (line: string) => void,
  targets: readonly CheckTarget[],
  waitMs: number,
  down: boolean,
): (g: Progress) => void {
  const all = names(targets.map(targetText));
  say(`upcat: waiting up to ${formatDuration(waitMs)} for ${all}${down ? " to go down" : ""}`);
  let next = NOTE_EVERY_MS;
  return (g) => {
    if (g.elapsedMs < next || g.waiting.length === 0) return;
    next = (Math.floor(g.elapsedMs / NOTE_EVERY_MS) + 1) * NOTE_EVERY_MS;
    const still = g.waiting.map((t, i) => `${targetText(t)} (${why(g.why[i])})`);
    const so = `${(g.elapsedMs / 1000).toFixed(1)}s, ${g.passed}/${g.total} ${down ? "down" : "up"}`;
    say(`upcat: ${so}, still waiting for ${names(still)}`);
  };
}

/** names lists the first NAMED, and counts the rest. */
function names(list: readonly string[]): string {
  const more = list.length > NAMED ? ` and ${list.length - NAMED} more` : "";
  return `${list.slice(0, NAMED).join(", ")}${more}`;
}

/** why is a try's outcome in words: its state, and the reason where there is one, escaped, redacted and cut. */
function why(o: Outcome | undefined): string {
  if (!o) return "not tried yet";
  const state = o.state.replaceAll("_", " ");
  return o.error ? `${state}: ${cut(escapeControl(redactIn(o.error)), WHY_MAX)}` : state;
}
