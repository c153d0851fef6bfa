// The time limits count the time this process ran: a hold-up of the whole loop (here a synchronous sleep, as a stop
// or a blocking write would be) is given back, up to the limit's own length; the turns of a busy loop are not, so a
// slow peer is not passed late; and a limit nothing held up fires on time. Timings on a shared machine: the bounds
// are wide, and each assertion is on which side of a gap of hundreds of milliseconds a time falls.
import { expect, test } from "bun:test";
import { deadlineIn, timeLimit } from "../../src/transport/time-limit.ts";

/** firedAfter arms timeLimit(ms), runs `meanwhile`, and resolves with how long after arming it fired. */
function firedAfter(ms: number, meanwhile: () => void = () => {}): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    timeLimit(() => resolve(performance.now() - t0), ms);
    meanwhile();
  });
}

/** busyTurns keeps the loop busy for `totalMs` in turns of `turnMs`, each a synchronous spin, yielding between. */
async function busyTurns(totalMs: number, turnMs: number): Promise<void> {
  const end = performance.now() + totalMs;
  while (performance.now() < end) {
    const turnEnd = performance.now() + turnMs;
    while (performance.now() < turnEnd) {}
    await new Promise((r) => setImmediate(r));
  }
}

test("nothing held up: a time limit fires on time", async () => {
  const at = await firedAfter(200);
  expect(at).toBeGreaterThanOrEqual(199);
  expect(at).toBeLessThan(260);
});

test("the loop held up for 400 ms just after a 300 ms limit was armed: it fires near 600 ms, not at once", async () => {
  // The hold-up is given back, up to 300 ms: a peer had all of its 300 ms. Before, it fired at the next look (~405).
  const at = await firedAfter(300, () => Bun.sleepSync(400));
  expect(at).toBeGreaterThan(550);
  expect(at).toBeLessThan(700);
});

test("a hold-up longer than the limit: given back the limit's length at most (twice its length in all)", async () => {
  const deadline = deadlineIn(200);
  Bun.sleepSync(900);
  await Bun.sleep(0);
  // 200 ms less the 900 spent, plus 200 given back: long past, so the timer that checks it fires at the next look.
  expect(deadline.left()).toBeLessThan(-400);
  const at = await firedAfter(200, () => Bun.sleepSync(900));
  expect(at).toBeGreaterThanOrEqual(900);
  expect(at).toBeLessThan(1000);
});

test("a hold-up of 400 ms: a Deadline of 1 s has about 1 s left after it, not 600 ms", async () => {
  const deadline = deadlineIn(1000);
  Bun.sleepSync(400);
  const left = deadline.left();
  expect(left).toBeGreaterThan(800);
  expect(left).toBeLessThanOrEqual(1000);
});

test("the turns of a busy loop (100 ms each) are not given back: a slow peer is not passed late", async () => {
  const deadline = deadlineIn(300);
  await busyTurns(700, 100);
  expect(deadline.left()).toBeLessThan(-200);
});
