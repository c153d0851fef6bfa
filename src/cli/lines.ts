// Splits a byte stream into lines, each with its terminator, so that what is sent is exactly what was read.
import { UsageError } from "../errors.ts";

/** MAX_LINE bounds the memory one line of input may take. */
const MAX_LINE = 64 << 20;

/** lines yields each line of the stream with its "\n" (the last one may have none). */
export async function* lines(stream: AsyncIterable<Uint8Array>, maxLine = MAX_LINE): AsyncGenerator<Uint8Array> {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  const take = (tail: Uint8Array): Uint8Array => {
    const line = heldBytes === 0 ? tail : Buffer.concat([...held, tail]);
    held = [];
    heldBytes = 0;
    return line;
  };
  for await (const chunk of stream) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      yield take(chunk.subarray(start, nl + 1));
      start = nl + 1;
    }
    if (start < chunk.length) {
      held.push(chunk.subarray(start));
      heldBytes += chunk.length - start;
      if (heldBytes > maxLine) throw new UsageError(`an input line is longer than ${maxLine} bytes`);
    }
  }
  if (heldBytes > 0) yield take(new Uint8Array(0));
}
