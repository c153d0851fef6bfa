// A datagram's source address as the text Bun's socket gives it (inet_ntop's), read from the sockaddr recvmmsg
// filled in: the gate, the protocol and the log see the same strings on either engine.
import { AF_INET } from "../libc.ts";
import { type SourceKeys, sourceKeys } from "../prefix.ts";

/** CACHE_MAX bounds the IPv4 sources kept: a spray of forged sources must not grow it without end. */
const CACHE_MAX = 4096;
const MAPPED = 1 << 32;
const v4Sources = new Map<number, SourceKeys>();

/**
 * source reads the address of the sockaddr at `at` in `names` and gives its keys: its text dotted for AF_INET,
 * "::ffff:a.b.c.d" for an IPv4 client of a dual-stack socket, RFC 5952 for IPv6. IPv4 ones are made once each (a
 * client sends many), so the server does not parse the same address's text anew for every datagram.
 */
export function source(names: Uint8Array, at: number): SourceKeys {
  if (names[at]! === AF_INET) return v4Source(names, at + 4, 0);
  const a = at + 8;
  let mapped = names[a + 10] === 0xff && names[a + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (names[a + i] !== 0) mapped = false;
  if (mapped) return v4Source(names, a + 12, MAPPED);
  return sourceKeys(v6Text(names, a));
}

/** sourceText is the text of source(names, at). */
export const sourceText = (names: Uint8Array, at: number): string => source(names, at).text;

/** sourcePort is the port of the sockaddr at `at` (the same place in either family). */
export function sourcePort(names: Uint8Array, at: number): number {
  return (names[at + 2]! << 8) | names[at + 3]!;
}

function v4Source(bytes: Uint8Array, at: number, tag: number): SourceKeys {
  const key = tag + ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
  let found = v4Sources.get(key);
  if (found === undefined) {
    const plain = `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
    found = sourceKeys(tag ? `::ffff:${plain}` : plain);
    if (v4Sources.size >= CACHE_MAX) v4Sources.clear();
    v4Sources.set(key, found);
  }
  return found;
}

/**
 * v6Text writes sixteen bytes as glibc's inet_ntop does: lowercase groups, the longest run of two or more zero
 * groups (the first of equals) as "::", and an IPv4 tail for the old IPv4-compatible form (::a.b.c.d).
 */
export function v6Text(bytes: Uint8Array, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[at + 2 * i]! << 8) | bytes[at + 2 * i + 1]!);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (bestLen < 2) best = -1;
  const compat = best === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 0xffff));
  let text = "";
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      text += i === 0 ? "::" : ":";
      i += bestLen - 1;
      continue;
    }
    if (compat && i === 6) {
      text += `${bytes[at + 12]}.${bytes[at + 13]}.${bytes[at + 14]}.${bytes[at + 15]}`;
      break;
    }
    text += `${groups[i]!.toString(16)}${i < 7 ? ":" : ""}`;
  }
  return text;
}
