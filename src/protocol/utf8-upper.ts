// Uppercases UTF-8 bytes as Python's str.upper() does, leaving bytes that are not valid UTF-8 unchanged:
// a whole message (a datagram), or a stream chunk by chunk. The work itself is in upcase-fast.ts.
import { upcaseAsciiOwned, upcaseOwned } from "./upcase-fast.ts";

export { sequenceLength } from "./utf8.ts";
export { upcaseAsciiInPlace } from "./upcase-fast.ts";

/** upcase uppercases a whole message, as one datagram or one complete stream. */
export function upcase(bytes: Uint8Array): Uint8Array {
  return upcaseInPlace(copyOf(bytes));
}

/** upcaseInPlace is upcase for bytes the caller hands over: uppercased where they are, copied only if one grows. */
export function upcaseInPlace(bytes: Uint8Array): Uint8Array {
  return upcaseAsciiOwned(bytes) ? bytes : upcaseOwned(bytes, false).out;
}

const NOTHING = new Uint8Array(0);

/** copyOf copies bytes. Not bytes.slice(): on a Buffer (what Bun's sockets hand over) slice is a view. */
function copyOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** Upcaser uppercases a stream chunk by chunk, holding back at most 3 bytes of a character split across chunks. */
export class Upcaser {
  private held: Uint8Array = NOTHING;

  /** push returns the uppercase of everything that can be judged so far; the chunk is left as it is. */
  push(chunk: Uint8Array): Uint8Array {
    // With bytes held, pushOwned copies the chunk behind them anyway.
    return this.pushOwned(this.held.length > 0 ? chunk : copyOf(chunk));
  }

  /**
   * pushOwned is push for a caller that owns the chunk and hands it over (a TCP read: the rule is
   * StreamSession.data's, in protocol.ts): the chunk is uppercased where it is and returned, or a
   * view of it, with nothing allocated unless a character grows.
   */
  pushOwned(chunk: Uint8Array): Uint8Array {
    if (this.held.length > 0) return this.scan(this.withHeld(chunk));
    return upcaseAsciiOwned(chunk) ? chunk : this.scan(chunk);
  }

  /** end returns the bytes still held: an incomplete sequence, which is not valid UTF-8, so unchanged. */
  end(): Uint8Array {
    const rest = this.held;
    this.held = NOTHING;
    return rest;
  }

  private withHeld(chunk: Uint8Array): Uint8Array {
    const input = new Uint8Array(this.held.length + chunk.length);
    input.set(this.held);
    input.set(chunk, this.held.length);
    return input;
  }

  private scan(owned: Uint8Array): Uint8Array {
    const { out, stop } = upcaseOwned(owned, true);
    this.held = stop < owned.length ? copyOf(owned.subarray(stop)) : NOTHING;
    return out;
  }
}
