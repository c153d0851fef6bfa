// The batch UDP engine: once Bun's socket has handed over a wake-up's datagrams (one JavaScript call each), what
// comes after them is read and answered a batch at a time (recvmmsg, sendmmsg) on the same descriptor,
// and the engine keeps reading while datagrams keep coming. Bun still binds, watches and closes the socket, and an
// idle server sleeps in Bun's own event loop. Everything else is the Bun path's: the same gate asked the same
// questions in the same order, the same counters, on the main thread; only the reads and the writes are libc's.
import { EAGAIN, errnoOf, MSG_DONTWAIT } from "../libc.ts";
import type { Counters } from "../listener.ts";
import { MessageVector, MSG_TRUNC, NAME } from "../mmsg.ts";
import type { SourceKeys } from "../prefix.ts";
import type { BatchLibc } from "./libc.ts";
import { sendBatch } from "./send.ts";
import { source, sourcePort } from "./source-text.ts";

/** BATCH is how many datagrams one recvmmsg may take, and one sendmmsg send. */
const BATCH = 64;
/** SLOT holds the largest datagram: 65 507 bytes over IPv4, 65 527 over IPv6. Only the pages written are resident. */
const SLOT = 65_536;
/** SLICE_MS is the longest the engine holds the event loop before signals, timers and TCP get a turn. */
const SLICE_MS = 2;
/**
 * LINGER_MS is how long a server's engine keeps asking the kernel after its last datagram before it leaves the socket
 * to Bun's event loop again: a client with one request in flight sends the next within a round trip, and a wake-up
 * through the event loop costs more than that round trip. It yields the core between tries, so a client on the same
 * core runs; an idle server never lingers.
 */
const LINGER_MS = 0.25;
/**
 * MISSES_TO_STOP lingers in a row that caught nothing stop the lingering: a client that sends a datagram every
 * millisecond would otherwise have the server spin a quarter of a core for nothing. PROBE_EVERY-th drain lingers
 * anyway, to notice when it pays again.
 */
const MISSES_TO_STOP = 4;
const PROBE_EVERY = 16;
/**
 * STARVED_MS: a drain asked for this long ago and not yet run means Bun's read loop has held the event loop all that
 * time. Bun reads until the socket is empty, so a sender faster than the server keeps it there, and so do clients that
 * keep many requests in flight, each sent as a reply comes: no timer, no signal (SIGTERM waited for a flood to stop,
 * 2 s, in 4 runs of 10). The engine then empties the socket itself, holding what it reads unanswered (HOLD at most,
 * answered at the next drain), so that Bun's next read finds nothing and its loop ends. Clients that wait for their
 * replies send nothing more meanwhile; what comes past HOLD is a flood, read and dropped (shed), SHED_MS at most.
 */
const STARVED_MS = 50;
const SHED_MS = 5;
/** HOLD is how many datagrams one catch-up keeps; HELD_SLOT the bytes kept of each (a longer one is shed). */
const HOLD = 1024;
const HELD_SLOT = 2048;

/**
 * OnDatagram takes one datagram the engine read: its bytes (the engine's memory, handed over until the next read: the
 * answer may rewrite them and reply with them, and copies what it keeps longer),
 * its source's keys (the text as Bun's socket gives it, and the rest) and its port; it returns the reply to send back
 * to that source, or undefined for none. The server answers through the gate and the protocol.
 */
export type OnDatagram = (message: Uint8Array, from: SourceKeys, port: number) => Uint8Array | undefined;

/** Drainer is the batch engine on one socket: kick after Bun has handed over a datagram; stop before the close. */
export interface Drainer {
  kick(): void;
  stop(): void;
  /** read is how many datagrams the engine has read itself (the rest came through Bun's calls). */
  readonly read: number;
}

/**
 * batchDrainer reads the datagrams waiting on `fd` (Bun's socket) after each of Bun's wake-ups, hands each to
 * `onDatagram` and sends its reply with the rest of its batch. `flush` sends the replies the Bun path holds first, so
 * that replies leave in the order their requests came.
 *
 * Bun's socket itself reads every datagram waiting at a wake-up, one JavaScript call each; what the engine gains is
 * the datagrams that come while it answers and lingers, read and answered in place. So it serves a server, whose
 * answer leaves at once, and not the relay: a relay's answer comes back from the target on another socket, which only
 * the event loop reads, and a relay that lingered would hold it (measured: 1 in flight through the relay, 10.4k/s
 * against 13.3k on Bun's socket; 32 in flight, equal).
 */
export function batchDrainer(
  c: BatchLibc,
  fd: number,
  onDatagram: OnDatagram,
  counters: Counters,
  flush: () => void,
): Drainer {
  const rx = new MessageVector(BATCH, { slot: SLOT, names: true });
  const tx = new MessageVector(BATCH, { slot: SLOT, names: true });
  const sizes = new Uint32Array(BATCH);
  const rxNames = new Uint32Array(rx.names.buffer);
  const txNames = new Uint32Array(tx.names.buffer);
  let open = true;
  let scheduled = false;
  let scheduledAt = 0;
  let read = 0;
  let misses = 0;
  let drains = 0;
  /** held are the datagrams a catch-up read, heldCount of them, for the next drain to answer; made at the first. */
  let held: MessageVector | undefined;
  let heldCount = 0;

  /** queue puts `reply` into the send vector at `out`, to go back to where rx's message i came from. */
  const queue = (out: number, reply: Uint8Array, i: number) => {
    // Copied before the next read, which rewrites rx: a reply that is the request (echo) is safe.
    tx.slots.set(reply, out * SLOT);
    tx.setLength(out, reply.length);
    // Word by word: a subarray to copy from would be one more object a datagram.
    for (let w = 0; w < NAME >> 2; w++) txNames[(out * NAME) / 4 + w] = rxNames[(i * NAME) / 4 + w]!;
    tx.setNameLength(out, rx.nameLength(i));
    sizes[out] = reply.length;
  };

  /**
   * answer hands each of the n datagrams received to onDatagram and says how many replies wait: in rx itself when
   * every reply was its own message rewritten in place (the uppercase and echo servers, whose replies then cost no
   * copy), in tx otherwise.
   */
  const answer = (n: number): { replies: number; inPlace: boolean } => {
    let out = 0;
    // same counts the first datagrams answered by themselves: rx holds their replies and their addresses already.
    let same = 0;
    for (let i = 0; i < n; i++) {
      const length = rx.length(i);
      const message = rx.slots.subarray(i * SLOT, i * SLOT + length);
      // The source's keys, each worked out once an IPv4 address.
      const reply = onDatagram(message, source(rx.names, i * NAME), sourcePort(rx.names, i * NAME));
      if (same === i) {
        if (reply === message) {
          sizes[same++] = length;
          continue;
        }
        // The first that is not: the replies before it go into tx after all.
        for (let k = 0; k < same; k++) queue(k, rx.slots.subarray(k * SLOT, k * SLOT + sizes[k]!), k);
        out = same;
      }
      if (reply === undefined) continue;
      // Larger than any datagram (uppercasing can triple UTF-8): the kernel would refuse it, as Bun's send does.
      if (reply.length > SLOT) {
        counters.sendFailed++;
        continue;
      }
      queue(out++, reply, i);
    }
    return same === n ? { replies: n, inPlace: true } : { replies: out, inPlace: false };
  };

  /** answerBatch answers the n datagrams in rx and sends the replies. */
  const answerBatch = (n: number) => {
    read += n;
    const { replies, inPlace } = answer(n);
    if (inPlace) {
      // rx goes back as it is: its addresses are the sources, with the lengths the kernel gave them.
      for (let i = 0; i < n; i++) rx.setLength(i, sizes[i]!);
      sendBatch(c, fd, rx, sizes, n, counters);
      for (let i = 0; i < n; i++) rx.setLength(i, SLOT);
    } else if (replies > 0) sendBatch(c, fd, tx, sizes, replies, counters);
    // The kernel wrote the lengths of the addresses it filled in: give those messages their room back.
    for (let i = 0; i < n; i++) rx.setNameLength(i, NAME);
  };

  /** shedOne counts a datagram read and dropped unanswered: received, and shed. */
  const shedOne = (bytes: number) => {
    counters.datagramsIn++;
    counters.bytesIn += bytes;
    counters.shed++;
  };

  /** answerHeld answers what the catch-ups held, a batch at a time through rx, in the order it came. */
  const answerHeld = () => {
    const h = held!;
    for (let k = 0; k < heldCount; k += BATCH) {
      let n = 0;
      for (let j = k; j < Math.min(k + BATCH, heldCount); j++) {
        const length = h.length(j);
        if (length > HELD_SLOT) shedOne(length);
        else {
          rx.slots.set(h.slots.subarray(j * HELD_SLOT, j * HELD_SLOT + length), n * SLOT);
          rx.names.set(h.names.subarray(j * NAME, (j + 1) * NAME), n * NAME);
          rx.setNameLength(n, h.nameLength(j));
          rx.setReceived(n++, length);
        }
        h.setNameLength(j, NAME);
      }
      if (n > 0) answerBatch(n);
    }
    heldCount = 0;
  };

  /** drain reads the socket in slices until it stays dry for the linger, then leaves it to Bun's event loop. */
  const drain = () => {
    scheduled = false;
    if (!open) return;
    flush();
    if (heldCount > 0) answerHeld();
    let lastSeen = performance.now();
    const sliceEnd = lastSeen + SLICE_MS;
    const linger = misses < MISSES_TO_STOP || ++drains % PROBE_EVERY === 0 ? LINGER_MS : 0;
    let dry = false;
    for (;;) {
      const n = c.recvmmsg(fd, rx.ptr, BATCH, MSG_DONTWAIT, null);
      const now = performance.now();
      if (n > 0) {
        // Datagrams after the socket had run dry: the linger paid.
        if (dry) misses = 0;
        dry = false;
        lastSeen = now;
        answerBatch(n);
      } else if (n < 0 && errnoOf(c) !== EAGAIN) {
        // An error queued on the socket (an ICMP report about a client gone) concerns one client: read on.
      } else if (now - lastSeen >= linger) {
        if (linger > 0) misses++;
        return;
      } else {
        dry = true;
        // Lingering: a core shared with the client (or anything else runnable) is given up at once, not spun on.
        c.sched_yield();
      }
      if (now >= sliceEnd) return kick();
    }
  };

  /** shed reads and drops what waits on the socket, for SHED_MS at most, and counts it. */
  const shed = () => {
    const end = performance.now() + SHED_MS;
    do {
      const n = c.recvmmsg(fd, rx.ptr, BATCH, MSG_DONTWAIT, null);
      if (n <= 0) return;
      for (let i = 0; i < n; i++) {
        shedOne(rx.length(i));
        rx.setNameLength(i, NAME);
      }
    } while (performance.now() < end);
  };

  /** catchUp empties the socket into `held` (STARVED_MS); what comes past HOLD is shed. */
  const catchUp = () => {
    held ??= new MessageVector(HOLD, { slot: HELD_SLOT, names: true });
    while (heldCount < HOLD) {
      const room = Math.min(BATCH, HOLD - heldCount);
      const n = c.recvmmsg(fd, held.at(heldCount), room, MSG_DONTWAIT | MSG_TRUNC, null);
      if (n <= 0) return;
      heldCount += n;
    }
    shed();
  };

  /**
   * kick drains once the datagrams Bun holds now have had their calls (setImmediate runs after the whole burst); if
   * the drain asked for has waited STARVED_MS, it catches up now, inside Bun's read loop.
   */
  const kick = () => {
    if (!open) return;
    if (!scheduled) {
      scheduled = true;
      scheduledAt = performance.now();
      setImmediate(drain);
      return;
    }
    const now = performance.now();
    if (now - scheduledAt < STARVED_MS) return;
    scheduledAt = now;
    catchUp();
  };

  return {
    kick,
    get read() {
      return read;
    },
    stop() {
      open = false;
      // The last use of the vectors: until here none of their memory can be collected.
      rx.release();
      tx.release();
      held?.release();
    },
  };
}
