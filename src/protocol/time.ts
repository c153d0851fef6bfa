// RFC 868, the Time Protocol: seconds since 1900-01-01 00:00 UTC as a 32-bit big-endian number.
import type { Protocol } from "./protocol.ts";

/** EPOCH_1900 is how many seconds 1900-01-01 lies before 1970-01-01. */
const EPOCH_1900 = 2_208_988_800;
const WRAP = 2 ** 32;

/**
 * timeValue is the RFC's number for a moment. It wraps to 0 in February 2036, which RFC 868 leaves
 * unsaid; the count simply goes on modulo 2^32, as every implementation does.
 */
export function timeValue(ms: number): number {
  return (Math.floor(ms / 1000) + EPOCH_1900) % WRAP;
}

/**
 * timeToDate reads a value back. As RFC 4330 does for NTP, the top bit picks the era: set means
 * 1968–2036, clear means after the wrap, 2036–2104.
 */
export function timeToDate(value: number): Date {
  const seconds = value >= 2 ** 31 ? value : value + WRAP;
  return new Date((seconds - EPOCH_1900) * 1000);
}

function nowBytes(): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, timeValue(Date.now()));
  return out;
}

/** readTime reads the 4-byte reply. */
export function readTime(reply: Uint8Array): number {
  return new DataView(reply.buffer, reply.byteOffset, reply.length).getUint32(0);
}

export const time: Protocol = {
  name: "time",
  port: 37,
  spec: "RFC 868",
  summary: "answers with 32-bit seconds since 1900, then closes",
  datagram: () => nowBytes(),
  stream: () => ({ greet: nowBytes, closeAfterGreeting: true }),
  client: {
    speaksFirst: true,
    replies: true,
    verify: (reply) => (reply.length === 4 ? undefined : `the reply is ${reply.length} bytes; RFC 868 sends 4`),
    show: (reply) => timeToDate(readTime(reply)).toISOString().replace(".000Z", "Z"),
  },
};
