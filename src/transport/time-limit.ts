// Time limits that count the time this process ran, so a peer is called late only for time it had to answer in.
//
// Bun polls for I/O, then fires the timers that are due. When a turn is held up (the process stopped by SIGSTOP or a
// debugger, starved of CPU in a throttled cgroup, a VM paused, a blocking write), every timer that came due meanwhile
// fires in that turn's drain: before the poll that would deliver the connection, reply or datagram that came in time.
// A check then said "timeout" of a port that had answered in a millisecond (8 of 3000 after a 2.5 s SIGSTOP).
//
// One more turn is not enough either: a try may have been held up before it had sent anything (fetch, on a thread
// of its own, had not yet connected), or before it armed its timer at all, with its time already gone. So while time
// limits run, a pulse notes how long the loop was held up, and a Deadline gives that time back, up to its own length:
// a --timeout of 1 s then ends within 2 s however the process is held up, and never calls a peer late for a hold-up.

/** PULSE_MS: how often the loop notes that it runs, while a deadline is pending. */
const PULSE_MS = 50;
/**
 * HELD_MS: a gap this much longer than a pulse is a hold-up (a stop, a pause, a blocking write), given back. Shorter
 * ones are the turns of a busy loop (a thousand handshakes at once): they are not given back, or a slow target would
 * pass such a check late; one more look (LATE_MS) is all they get.
 */
const HELD_MS = 200;
/** LATE_MS: a timer this far past its time was held up, not merely run a little late on a busy machine. */
const LATE_MS = 20;
/** LOOK_MS: the least a timer that came late waits again: the loop polls for I/O before it fires due timers. */
const LOOK_MS = 5;

/**
 * The pulse runs while time limits are pending, or until `until` (a Deadline may be asked after its time limits have
 * ended), noting when the loop last ran (`seen`) and how long it has been held up (`held`).
 */
const pulse = {
  timer: undefined as ReturnType<typeof setInterval> | undefined,
  pending: 0,
  until: 0,
  seen: 0,
  held: 0,
};

/** beat notes that the loop runs at `now`: a gap since it was last seen longer than a pulse (and HELD_MS) was held. */
function beat(now: number): void {
  if (pulse.timer === undefined) return;
  const gap = now - pulse.seen - PULSE_MS;
  if (gap > HELD_MS) pulse.held += gap;
  pulse.seen = now;
  if (pulse.pending === 0 && now > pulse.until) {
    clearInterval(pulse.timer);
    pulse.timer = undefined;
  }
}

/** watch keeps the pulse going until `until` at least. */
function watch(now: number, until: number): void {
  pulse.until = Math.max(pulse.until, until);
  if (pulse.timer !== undefined) return beat(now);
  pulse.seen = now;
  pulse.timer = setInterval(() => beat(performance.now()), PULSE_MS);
  pulse.timer.unref?.();
}

/** heldSoFar is how long the loop has been held up while the pulse ran, up to now. */
function heldSoFar(now: number): number {
  beat(now);
  return pulse.held;
}

/** Deadline is `ms` of this process's time from when it was made: hold-ups meanwhile are given back, up to `ms`. */
export interface Deadline {
  /** left is the time that remains (0 or less once it is up). */
  left(): number;
}

/** deadlineIn is a Deadline `ms` from now: the pulse goes on as long as it may be asked (twice `ms`). */
export function deadlineIn(ms: number): Deadline {
  return deadline(ms, 2 * ms + PULSE_MS);
}

/** deadline is a Deadline `ms` from now, with the pulse kept going for `watchMs` at least. */
function deadline(ms: number, watchMs: number): Deadline {
  const start = performance.now();
  // watch has just noted this turn (or started the pulse): what was held so far is in pulse.held already.
  watch(start, start + watchMs);
  const held0 = pulse.held;
  return {
    left() {
      const now = performance.now();
      return ms - (now - start) + Math.min(ms, heldSoFar(now) - held0);
    },
  };
}

/** TimeLimit is a pending time limit; clear cancels it. */
export interface TimeLimit {
  clear(): void;
}

/**
 * timeLimit calls `fire` once `ms` of this process's time have passed (a Deadline), as setTimeout would if nothing
 * held the process up; a timer that comes late waits for one more poll at least, so what came in time is seen first
 * (and the caller, having settled, ignores the fire or clears it).
 */
export function timeLimit(fire: () => void, ms: number): TimeLimit {
  // The pulse goes on while this is pending, however long it is (a read's idle limit may be hours).
  pulse.pending++;
  const limit = deadline(ms, 0);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    pulse.pending--;
  };
  let looked = false;
  const check = () => {
    const left = limit.left();
    // Up to the deadline: a hold-up was given back. Far past it: held up by less than a hold-up given back (a busy
    // loop's turn, shorter than HELD_MS, can still make a timer late): one more look.
    if (left > 1 || (left <= -LATE_MS && !looked)) {
      looked = true;
      timer = setTimeout(check, Math.max(LOOK_MS, left));
      return;
    }
    end();
    fire();
  };
  let timer = setTimeout(check, ms);
  return {
    clear() {
      clearTimeout(timer);
      end();
    },
  };
}

/** lapse resolves once `ms` have passed, as Bun.sleep does, counted as timeLimit counts them. */
export function lapse(ms: number): Promise<void> {
  return new Promise((resolve) => timeLimit(resolve, ms));
}
