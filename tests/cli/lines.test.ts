// Splitting stdin into lines: terminators kept, chunk boundaries invisible, long lines bounded.
import { expect, test } from "bun:test";
import { lines } from "../../src/cli/lines.ts";
import { UsageError } from "../../src/errors.ts";

async function* chunks(...parts: string[]) {
  for (const p of parts) yield new TextEncoder().encode(p);
}

async function collect(source: AsyncIterable<Uint8Array>, max?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines(source, max)) out.push(new TextDecoder().decode(line));
  return out;
}

test.each([
  [["one\ntwo\n"], ["one\n", "two\n"]],
  [["one\ntwo"], ["one\n", "two"]],
  [
    ["o", "ne\nt", "wo\n"],
    ["one\n", "two\n"],
  ],
  [["a\r\nb\r\n"], ["a\r\n", "b\r\n"]],
  [["\n\n"], ["\n", "\n"]],
  [[""], []],
  [[], []],
])("lines keep their terminators: %p", async (parts, want) => {
  expect(await collect(chunks(...parts))).toEqual(want);
});

test("a line longer than the limit is refused, not buffered", async () => {
  const promise = collect(chunks("x".repeat(10), "x".repeat(10), "\n"), 15);
  await expect(promise).rejects.toBeInstanceOf(UsageError);
});
