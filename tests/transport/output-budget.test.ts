// OutputBudget: the --max-output total closes a read before its end, stops every reader once, and wakes them at half.
import { expect, test } from "bun:test";
import { OutputBudget, READ_MAX } from "../../src/transport/output-budget.ts";

const MB = 1 << 20;

test.each([
  [64 * MB, READ_MAX],
  [16 * MB, READ_MAX],
  [1 * MB, 256 << 10],
  [100, 25],
])("a total of %d bytes closes %d bytes before its end", (max, headroom) => {
  expect(new OutputBudget(max).headroom).toBe(headroom);
});

test("the total closes once, within a read of its end, calling every stopper; it reopens and wakes at half", () => {
  const budget = new OutputBudget(4 * MB);
  const stops: string[] = [];
  budget.onFull(() => stops.push("serve"));
  const unwatch = budget.onFull(() => stops.push("relay"));
  let woken = 0;
  budget.add(4 * MB - READ_MAX);
  expect(budget.full).toBe(false);
  budget.add(1);
  expect(budget.full).toBe(true);
  expect(budget.over).toBe(false);
  // One read more still fits; the stoppers were called once, not on every add.
  budget.add(READ_MAX - 1);
  expect(budget.over).toBe(false);
  expect(stops).toEqual(["serve", "relay"]);
  budget.whenLow(() => woken++);
  budget.release(MB);
  expect([budget.full, woken]).toEqual([true, 0]);
  budget.release(MB);
  expect([budget.full, woken]).toEqual([false, 1]);
  // Closing again calls only the stoppers still registered.
  unwatch();
  budget.add(2 * MB);
  expect(stops).toEqual(["serve", "relay", "serve"]);
});

test("a stopper may register a waker while the total closes, and a cancelled waker is not called", () => {
  const budget = new OutputBudget(MB);
  let woken = 0;
  const forgotten = () => woken--;
  budget.onFull(() => budget.whenLow(() => woken++));
  budget.whenLow(forgotten);
  budget.cancel(forgotten);
  budget.add(MB);
  budget.release(MB);
  expect(woken).toBe(1);
});
