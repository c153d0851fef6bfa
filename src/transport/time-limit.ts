// Timers that call a peer late only once the event loop has looked at it since the time was up.
//
// Bun polls for I/O, then fires the timers that are due. When a turn is held up (the process stopped by SIGSTOP or a
// debugger, starved of CPU in a throttled cgroup, a VM paused, a blocking write), every timer that came due meanwhile
// fires in that turn's drain: before the poll that would deliver the connection, reply or datagram that came in time.
// A check then said "timeout" of a port that had answered in a millisecond (8 of 3000 after a 2.5 s SIGSTOP).

/** LATE_MS: a timer this far past its time was held up, not merely run a little late on a busy machine. */
const LATE_MS = 20;
/** LOOK_MS: how long a held-up timer waits again: the loop polls for I/O before it fires timers that are due. */
const LOOK_MS = 5;

/** TimeLimit is a pending time limit; clear cancels it. */
export interface TimeLimit {
  clear(): void;
}

/**
 * timeLimit calls `fire` once `ms` have passed, as setTimeout does; if its timer comes late, only after one more
 * turn of the loop, so what came in time is seen first (and the caller, having settled, ignores the fire or clears it).
 */
export function timeLimit(fire: () => void, ms: number): TimeLimit {
  const due = performance.now() + ms;
  let timer = setTimeout(() => {
    if (performance.now() - due < LATE_MS) return fire();
    timer = setTimeout(fire, LOOK_MS);
  }, ms);
  return { clear: () => clearTimeout(timer) };
}

/** lapse resolves once `ms` have passed, as Bun.sleep does, with timeLimit's second look when its timer came late. */
export function lapse(ms: number): Promise<void> {
  return new Promise((resolve) => timeLimit(resolve, ms));
}
