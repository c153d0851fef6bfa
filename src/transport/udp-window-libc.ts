// The UDP side of a piped `send` on 64-bit Linux, through libc: the same window as udp-window.ts (a socket of its own
// for each request in flight, so a reply belongs to the request on its socket; each retried on its own; replies in
// the order of the requests), with send, recv and poll called directly. Bun's sockets call JavaScript once a
// datagram and settle a promise and a timer for each; that was most of a piped send's time. The loop runs in
// slices, yielding to the event loop between them, so stdin is read, stdout written and signals heard.
//
// A reply has no id in the textbook's protocol, so one that comes twice (the network duplicated it, or a retry's
// reply came as well as the late first one) could be read as the reply to the next request on its socket. So there
// are more sockets than the window (sparesFor), a freed one waits behind the others before it carries a request
// again, what came meanwhile is read and dropped before it does, and one whose request was sent more than once rests
// until its late replies have come or a timeout has passed.
import type { Pointer } from "bun:ffi";
import { NetError } from "../errors.ts";
import { hostPort } from "./address.ts";
import {
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_EVENT as EVENT,
  EPOLL_EVENT_DATA as EVENT_DATA,
  EPOLLIN,
} from "./epoll.ts";
import { bunFfi, EAGAIN, errnoName, errnoOf, libcOnce, MSG_DONTWAIT, newSockaddr } from "./libc.ts";
import { clientUdpFd } from "./client-port.ts";
import { checkDatagram, MAX_DATAGRAM } from "./transport.ts";
import { noReply, ReplyOrder, sparesFor, type UdpWindowOptions } from "./udp-window-order.ts";

/** windowLibc is the calls the window makes, on 64-bit Linux; null elsewhere (Bun's sockets then). */
export const windowLibc = libcOnce((t) => ({
  // ssize_t results are read as i32: a datagram's length, or -1.
  send: { args: [t.i32, t.ptr, t.u64, t.i32], returns: t.i32 },
  recv: { args: [t.i32, t.ptr, t.u64, t.i32], returns: t.i32 },
  epoll_create1: { args: [t.i32], returns: t.i32 },
  epoll_ctl: { args: [t.i32, t.i32, t.i32, t.ptr], returns: t.i32 },
  epoll_wait: { args: [t.i32, t.ptr, t.i32, t.i32], returns: t.i32 },
  getsockname: { args: [t.i32, t.ptr, t.ptr], returns: t.i32 },
}));
type Libc = NonNullable<ReturnType<typeof windowLibc>>;

/** SLICE_MS is the longest the loop runs before the event loop gets a turn. */
const SLICE_MS = 5;
/** QUEUED bounds the lines read ahead of the window. */
const QUEUED = 1024;
/** ROOM holds any datagram, so that one longer than the request is read whole (the kernel cuts the rest off). */
const ROOM = 65_536;

/** Slot is one socket of the window and the request it carries (index -1: none). */
interface Slot {
  fd: number;
  /** key is the slot's number, in its epoll event's data. */
  key: number;
  out: Uint8Array;
  outPtr: Pointer;
  index: number;
  length: number;
  attempt: number;
  deadline: number;
  /** owed counts the replies a resting slot may still get (its request was sent more than once); 0: not resting. */
  owed: number;
}

/**
 * udpWindowLibc sends every request of `requests` to address:port and hands the replies over in order, as udpWindow
 * does on Bun's sockets; it throws at the first request that gets no reply (or whose port is refused).
 */
export async function udpWindowLibc(
  c: Libc,
  address: string,
  port: number,
  requests: AsyncIterable<Uint8Array>,
  opts: UdpWindowOptions,
): Promise<void> {
  const where = hostPort(address, port);
  const addr = newSockaddr(address, port);
  if (!addr) throw new Error(`not an IP address: ${address}`);
  const { ptr } = bunFfi();
  const failure = (op: "connect" | "read" | "write", code: number) =>
    NetError.from(op, "udp", where, Object.assign(new Error(`errno ${code}`), { code: errnoName(code) }));
  const slots: Slot[] = [];
  const epoll = c.epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) throw failure("connect", errnoOf(c));
  const closeAll = () => {
    for (const s of slots) c.close(s.fd);
    c.close(epoll);
  };
  const event = new Uint8Array(new ArrayBuffer(16));
  const spares = sparesFor(opts.window);
  const count = opts.window + spares;
  const events = new Uint8Array(new ArrayBuffer(EVENT * count));
  const eventsPtr = ptr(events);
  /** dial opens a socket connected to the target, watched by epoll under `key`; it returns its fd or throws. */
  const dial = (key: number): number => {
    const fd = clientUdpFd(c, addr, (code) => failure("connect", code));
    event.fill(0);
    event[0] = EPOLLIN;
    event[EVENT_DATA] = key & 255;
    event[EVENT_DATA + 1] = key >> 8;
    if (c.epoll_ctl(epoll, EPOLL_CTL_ADD, fd, ptr(event))) {
      const code = errnoOf(c);
      c.close(fd);
      throw failure("connect", code);
    }
    return fd;
  };
  try {
    for (let key = 0; key < count; key++) {
      const fd = dial(key);
      // Zeroed and mapped lazily: only the pages a request is written to become resident.
      const out = new Uint8Array(new ArrayBuffer(MAX_DATAGRAM));
      slots.push({ fd, key, out, outPtr: ptr(out), index: -1, length: 0, attempt: 0, deadline: 0, owed: 0 });
    }
  } catch (err) {
    closeAll();
    throw err;
  }
  // The slots with no request, oldest freed first (a ring of every slot), and how many carry one.
  const idle = slots.map((_, k) => k);
  let idleHead = 0;
  let idleCount = count;
  const free = (s: Slot) => {
    idle[(idleHead + idleCount++) % count] = s.key;
  };
  let busy = 0;
  let resting = 0;
  const rested = (s: Slot) => {
    s.owed = 0;
    resting--;
    free(s);
  };
  const inbox = new Uint8Array(new ArrayBuffer(ROOM));
  const inboxPtr = ptr(inbox);
  /** drain reads and drops what waits on a free slot's socket: replies that came more than once. */
  const drain = (s: Slot) => {
    while (c.recv(s.fd, inboxPtr, ROOM, MSG_DONTWAIT) >= 0) {}
  };

  // Lines read ahead, taken from `head` on; refilled between slices.
  const input = requests[Symbol.asyncIterator]();
  let queue: Uint8Array[] = [];
  let head = 0;
  let inputDone = false;
  let reading: Promise<void> | undefined;
  // A failure to read (a line past its bound) ends the input: the lines before it are answered, then it is thrown.
  let inputFailed: unknown;
  const readAhead = async () => {
    try {
      while (queue.length - head < QUEUED && !inputDone) {
        const next = await input.next();
        if (next.done) inputDone = true;
        else queue.push(next.value);
      }
    } catch (err) {
      inputFailed = err;
      inputDone = true;
    }
  };
  const startReading = () => {
    if (reading || inputDone) return;
    reading = readAhead().finally(() => {
      reading = undefined;
    });
  };

  const order = new ReplyOrder(opts.onReply);
  const send = (s: Slot, now: number) => {
    s.deadline = now + opts.timeoutMs;
    // No room in the socket's buffer loses the datagram, as the network might: the deadline sends it again.
    if (c.send(s.fd, s.outPtr, s.length, MSG_DONTWAIT) < 0 && errnoOf(c) !== EAGAIN) throw failure("write", errnoOf(c));
  };

  try {
    let nextSweep = 0;
    for (;;) {
      startReading();
      const sliceEnd = performance.now() + SLICE_MS;
      for (;;) {
        const now = performance.now();
        // Every slot is busy, resting or idle, so spares left idle also keeps busy (and resting) within the window.
        while (idleCount > spares && head < queue.length && !order.full) {
          const line = queue[head]!;
          checkDatagram(line.length);
          queue[head++] = EMPTY;
          const s = slots[idle[idleHead]!]!;
          idleHead = (idleHead + 1) % count;
          idleCount--;
          drain(s);
          s.out.set(line);
          s.length = line.length;
          s.index = order.take();
          s.attempt = 0;
          busy++;
          send(s, now);
        }
        if (head > QUEUED) {
          queue = queue.slice(head);
          head = 0;
        }
        // Deadlines are looked at once a millisecond, not at every turn.
        if (now >= nextSweep) {
          nextSweep = now + 1;
          for (const s of slots) {
            if (s.index < 0 && s.owed > 0 && now >= s.deadline) rested(s);
            if (s.index < 0 || now < s.deadline) continue;
            if (s.attempt >= opts.retries) throw noReply(where, opts);
            s.attempt++;
            send(s, now);
          }
        }
        // Nothing in flight: done with this slice, unless lines wait for a resting socket.
        if ((busy === 0 && (resting === 0 || head >= queue.length)) || now >= sliceEnd) break;
        // Wait in the kernel for replies (a millisecond at most, for the deadlines), then read one datagram from each
        // socket that has one (one request in flight each; any more is late and waits for the next turn): a refusal
        // (an ICMP port unreachable) wakes it too, and the read returns it.
        const ready = c.epoll_wait(epoll, eventsPtr, slots.length, 1);
        if (ready <= 0) continue;
        for (let e = 0; e < ready; e++) {
          const k = events[e * EVENT + EVENT_DATA]! | (events[e * EVENT + EVENT_DATA + 1]! << 8);
          const s = slots[k]!;
          const n = c.recv(s.fd, inboxPtr, ROOM, MSG_DONTWAIT);
          if (n < 0) {
            const code = errnoOf(c);
            if (code === EAGAIN) continue;
            throw failure("read", code);
          }
          // A reply that came again, to a request answered already, has no request left to belong to; the last one a
          // resting socket was owed ends its rest.
          if (s.index < 0) {
            if (s.owed > 0 && --s.owed === 0) rested(s);
            continue;
          }
          order.put(s.index, inbox.slice(0, n));
          s.index = -1;
          busy--;
          if (s.attempt > 0) {
            // Sent more than once: the replies to the other tries may come for a timeout yet, unless all come first.
            s.owed = s.attempt;
            s.deadline = performance.now() + opts.timeoutMs;
            resting++;
          } else free(s);
        }
      }
      if (busy === 0 && inputDone && head >= queue.length) {
        if (inputFailed !== undefined) throw inputFailed;
        return;
      }
      // Nothing in flight and no line read yet: wait for stdin rather than spin.
      if (busy === 0 && head >= queue.length && reading) await reading;
      else await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    closeAll();
  }
}

const EMPTY = new Uint8Array(0);
