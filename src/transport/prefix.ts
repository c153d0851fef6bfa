// IP addresses as numbers: the prefix a datagram's source belongs to, and an address's bits, read without allocating
// where it is hot.
import { plainAddress } from "./address.ts";
import { isUnanswerableAddress } from "./reflection.ts";

/**
 * sourcePrefix is the bucket key of a source address, as DNS response rate limiting keys them: the
 * /24 of an IPv4 address as an integer (an IPv4-mapped IPv6 address counts as IPv4), or the /56 of
 * an IPv6 address as text. An attacker who owns a /24 or a /56 gains nothing by spreading over it.
 * It runs for every datagram, so IPv4 is read digit by digit, with no split and no slice.
 */
export function sourcePrefix(address: string): number | string {
  const start =
    address.charCodeAt(0) === 58 /* ":" */ && address.startsWith("::ffff:") && address.indexOf(".") > 0 ? 7 : 0;
  let key = 0;
  let octet = 0;
  for (let i = start; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46 /* "." */) {
      key = key * 256 + octet;
      if (key >= 0x10000) return key; // three octets read: the /24
      octet = 0;
    } else if (c >= 48 && c <= 57) octet = octet * 10 + (c - 48);
    else break; // not IPv4
  }
  const groups = ipv6Groups(address);
  if (!groups) return address;
  return `${groups[0]}:${groups[1]}:${groups[2]}:${groups[3]! >> 8}`;
}

/**
 * loopbackFlow is the reply-budget key of a datagram from this machine (127/8, ::1, or 127/8 mapped into IPv6): its
 * address and port, as one number. Undefined for any other source, whose replies count against its prefix. The kernel
 * drops 127/8 and ::1 sources that come from outside, so only a local program can send from one: a /24 of them means
 * nothing (every local client is 127.0.0.1), while one address and port is one socket, so one end of a loop. It runs
 * for every datagram: read as digits, with no split and no slice.
 */
export function loopbackFlow(address: string, port: number): number | undefined {
  let i = 0;
  if (address.charCodeAt(0) === 58 /* ":" */) {
    if (address === "::1") return -1 - port;
    if (!address.startsWith("::ffff:127.")) return undefined;
    i = 7;
  } else if (!address.startsWith("127.")) return undefined;
  // 127.b.c.d: the 24 bits after 127, then the port's 16 (below 2^40: exact in a double).
  let key = 0;
  let octet = 0;
  for (i += 4; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46 /* "." */) {
      key = key * 256 + octet;
      octet = 0;
    } else if (c >= 48 && c <= 57) octet = octet * 10 + (c - 48);
    else return undefined;
  }
  return (key * 256 + octet) * 65536 + port;
}

/**
 * SourceKeys are what a UDP server asks of a datagram's source address, worked out once: its text as the socket gives
 * it, its plainAddress, its sourcePrefix, `loopback` (loopbackFlow's key without the port, undefined off this
 * machine) and whether replies to the address would be reflection (isUnanswerableAddress). The batch engine keeps them
 * for each IPv4 source, so a client's datagrams do not reparse its address.
 */
export interface SourceKeys {
  readonly text: string;
  readonly plain: string;
  readonly prefix: number | string;
  readonly loopback: number | undefined;
  readonly unanswerable: boolean;
}

/** sourceKeys works out the keys of a source address, as the socket gives it. */
export function sourceKeys(text: string): SourceKeys {
  const plain = plainAddress(text);
  const loopback = loopbackFlow(text, 0);
  return { text, plain, prefix: sourcePrefix(text), loopback, unanswerable: isUnanswerableAddress(plain) };
}

/** flowKey is loopbackFlow(text, port) from its keys' `loopback`: ::1's keys go down from -1, 127/8's up from 0. */
export function flowKey(loopback: number | undefined, port: number): number | undefined {
  if (loopback === undefined) return undefined;
  return loopback < 0 ? loopback - port : loopback + port;
}

/**
 * addressKey is the key for "one address" on a TCP server: an IPv4 address, or an IPv6 /64 (what one host is given).
 */
export function addressKey(address: string): string {
  if (address.includes(".")) return plainAddress(address);
  const groups = ipv6Groups(address);
  return groups ? groups.slice(0, 4).join(":") : address;
}

/** ipv4Bytes reads dotted-quad text strictly (no leading zeros, no spaces), or undefined. */
function ipv4Bytes(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
}

/** ipv6Groups reads IPv6 text (with "::" and an IPv4 tail) into its eight 16-bit groups, or undefined. */
function ipv6Groups(text: string): number[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const read = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const words = part.split(":");
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (i === words.length - 1 && w.includes(".")) {
        const v4 = ipv4Bytes(w);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-f]{1,4}$/i.test(w)) out.push(parseInt(w, 16));
      else return undefined;
    }
    return out;
  };
  const head = read(halves[0]!);
  const tail = halves.length === 2 ? read(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** addressBytes is an address's bytes, 4 for IPv4 and 16 for IPv6, or undefined when it is neither. */
export function addressBytes(text: string): number[] | undefined {
  const v4 = ipv4Bytes(text);
  if (v4) return v4;
  const groups = ipv6Groups(text);
  return groups?.flatMap((g) => [g >> 8, g & 255]);
}

/** hostBitsSet says whether any bit after the first `prefix` bits is set: 10.0.0.1/8 is not a network. */
export function hostBitsSet(bytes: readonly number[], prefix: number): boolean {
  for (let bit = prefix; bit < bytes.length * 8; bit++) if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return true;
  return false;
}
