// RFC 864, the Character Generator Protocol: lines of 72 printable characters, each a step along.
import type { Protocol, StreamSession } from "./protocol.ts";

const LINE = 72;
const FIRST = 0x20;
const COUNT = 95; // the printable ASCII characters, space to tilde

/** line returns the n-th line of the RFC's rotating pattern, CRLF included. */
export function chargenLine(n: number): Uint8Array {
  const out = new Uint8Array(LINE + 2);
  for (let i = 0; i < LINE; i++) out[i] = FIRST + ((n + i) % COUNT);
  out[LINE] = 13;
  out[LINE + 1] = 10;
  return out;
}

/**
 * block is several cycles of the pattern (every line once; it repeats after that), about 64 KiB: one pull's worth,
 * made at the first pull and never changed. Not at import: every `upcat send` loads the protocol table.
 */
let block: Buffer | undefined;
function chargenBlock(): Buffer {
  if (block) return block;
  const cycle = Buffer.concat(Array.from({ length: COUNT }, (_, n) => chargenLine(n)));
  block = Buffer.concat(Array.from({ length: Math.ceil(65536 / cycle.length) }, () => cycle));
  return block;
}

let datagrams = 0;

/** Every connection gets the same block, so every connection can share one session. */
const CHARGEN_SESSION: StreamSession = { pull: chargenBlock };

export const chargen: Protocol = {
  name: "chargen",
  port: 19,
  spec: "RFC 864",
  summary: "streams lines of printable characters until the client goes",
  // Each datagram gets one line, as inetd sends, within the RFC's 0 to 512 characters.
  datagram: () => chargenLine(datagrams++ % COUNT),
  stream: () => CHARGEN_SESSION,
  client: {
    speaksFirst: true,
    replies: true,
    endless: true,
    verify(reply) {
      if (reply.length === 0) return "no characters came";
      for (const b of reply) {
        if ((b < FIRST || b >= FIRST + COUNT) && b !== 13 && b !== 10)
          return `byte 0x${b.toString(16)} is not in the chargen pattern`;
      }
      return undefined;
    },
  },
};
