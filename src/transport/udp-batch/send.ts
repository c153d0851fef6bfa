// Replies to the kernel, a batch a call, with the Bun path's rule for failures (udp-server.ts sendAll).
import type { Counters } from "../listener.ts";
import { EAGAIN, errnoOf } from "../libc.ts";
import type { MessageVector } from "../mmsg.ts";
import type { BatchLibc } from "./libc.ts";

/** ENOBUFS is Linux's "no room" on a send, as EAGAIN is. */
const ENOBUFS = 105;

/**
 * sendBatch sends the first n messages of `tx` (each of sizes[i] bytes), and one refused datagram never costs the
 * others. sendmmsg stops at the first datagram the kernel refuses, and that is often not the datagram's own fault: an
 * ICMP error for an earlier reply (a client gone) is reported on the next send, whoever it is for. So the rest go
 * again from there; the refused one gets one more try alone, and is dropped only if it fails again. No room in the
 * kernel drops the rest, as a lost datagram is.
 */
export function sendBatch(
  c: BatchLibc,
  fd: number,
  tx: MessageVector,
  sizes: Uint32Array,
  n: number,
  counters: Counters,
): void {
  let i = 0;
  while (i < n) {
    const sent = c.sendmmsg(fd, tx.at(i), n - i, 0);
    if (sent > 0) {
      for (let k = i; k < i + sent; k++) count(counters, sizes[k]!);
      i += sent;
      continue;
    }
    if (full(c)) return void (counters.sendFailed += n - i);
    const alone = sendAlone(c, fd, tx, i);
    if (alone === "full") return void (counters.sendFailed += n - i);
    if (alone === "sent") count(counters, sizes[i]!);
    else counters.sendFailed++;
    i++;
  }
}

/** sendAlone sends message i by itself, twice at most: the first try may only have collected another peer's error. */
function sendAlone(c: BatchLibc, fd: number, tx: MessageVector, i: number): "sent" | "failed" | "full" {
  for (let attempt = 0; attempt < 2; attempt++) {
    if (c.sendmmsg(fd, tx.at(i), 1, 0) === 1) return "sent";
    if (full(c)) return "full";
  }
  return "failed";
}

function full(c: BatchLibc): boolean {
  const errno = errnoOf(c);
  return errno === EAGAIN || errno === ENOBUFS;
}

function count(counters: Counters, bytes: number): void {
  counters.datagramsOut++;
  counters.bytesOut += bytes;
}
