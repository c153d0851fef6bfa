// The TCP round-trip load of `upcat bench` on Linux, through libc and epoll, as loadgen does it: the readiness of
// every connection comes in one call, and a reply costs one read and one write, with no JS callback or promise a
// reply. Bun's sockets cost more a reply than a fast server does, and the bench would measure itself. The loop runs
// in slices, yielding to the event loop between them, so progress lines, a worker's IPC and signals keep working.
import type * as Ffi from "bun:ffi";
import { NetError } from "../errors.ts";
import { hostPort } from "../transport/address.ts";
import type { Clock, LoadTally } from "./tally.ts";
import {
  AF_INET,
  AF_INET6,
  bunFfi,
  EAGAIN,
  EINPROGRESS,
  errnoName,
  errnoOf,
  libcOnce,
  MSG_DONTWAIT,
  newSockaddr,
  SO_ERROR,
  SOCK_STREAM_NONBLOCK_CLOEXEC,
  SOL_SOCKET,
} from "../transport/libc.ts";
import {
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_MOD,
  EPOLL_EVENT as EVENT,
  EPOLL_EVENT_DATA as EVENT_DATA,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
} from "../transport/epoll.ts";

const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const MSG_NOSIGNAL = 0x4000;
const EVENTS = 256;
const READ_BUFFER = 65536;
const SLICE_MS = 10;

/** streamLibc is what the TCP load needs of libc on 64-bit Linux, or null where it is not to be had. */
export const streamLibc = libcOnce((t) => ({
  setsockopt: { args: [t.i32, t.i32, t.i32, t.ptr, t.u32], returns: t.i32 },
  getsockopt: { args: [t.i32, t.i32, t.i32, t.ptr, t.ptr], returns: t.i32 },
  send: { args: [t.i32, t.ptr, t.u64, t.i32], returns: t.i64_fast },
  recv: { args: [t.i32, t.ptr, t.u64, t.i32], returns: t.i64_fast },
  epoll_create1: { args: [t.i32], returns: t.i32 },
  epoll_ctl: { args: [t.i32, t.i32, t.i32, t.ptr], returns: t.i32 },
  epoll_wait: { args: [t.i32, t.ptr, t.i32, t.i32], returns: t.i32 },
}));
type Libc = NonNullable<ReturnType<typeof streamLibc>>;

/**
 * Memory is what the calls hand to libc, each over an ArrayBuffer of its own (a pointer to it stays put). The loop
 * reaches every pointer through this object, which so lives as long as the load: a buffer known only by its pointer
 * could be collected while the kernel still writes into it.
 */
class Memory {
  readonly event = new DataView(new ArrayBuffer(EVENT));
  readonly eventPtr = bunFfi().ptr(this.event.buffer);
  readonly events = new DataView(new ArrayBuffer(EVENT * EVENTS));
  readonly eventsPtr = bunFfi().ptr(this.events.buffer);
  readonly payload: Uint8Array;
  readonly payloadPtr: Ffi.Pointer;
  readonly buffer = new ArrayBuffer(READ_BUFFER);
  readonly bufferPtr = bunFfi().ptr(this.buffer);
  readonly one = new Int32Array(new ArrayBuffer(4)).fill(1);
  readonly soError = new Int32Array(new ArrayBuffer(4));
  readonly soLength = new Uint32Array(new ArrayBuffer(4));

  constructor(payload: Uint8Array) {
    this.payload = new Uint8Array(new ArrayBuffer(Math.max(1, payload.length))).subarray(0, payload.length);
    this.payload.set(payload);
    this.payloadPtr = bunFfi().ptr(this.payload.buffer);
  }

  /** release is the load's last use of its memory: until it runs, none of it can be collected. */
  release(): void {
    this.payload.fill(0);
  }
}

/** Conn is one connection of the load: its socket, the bytes of the reply so far, and when the request went. */
interface Conn {
  fd: number;
  /** index is the connection's place in the list, which epoll hands back with its events. */
  index: number;
  got: number;
  /** out is how much of the request has gone; a large one goes in parts, as the socket takes them. */
  out: number;
  /** writable: epoll is asked for room to write too (a request is only partly out). */
  writable: boolean;
  sentAt: number;
  /** state: dialing until the handshake is done, then waiting for replies, then over (closed). */
  state: "dialing" | "waiting" | "over";
}

/**
 * tcpLoadLibc keeps `concurrency` connections to address:port, each sending the payload once the whole reply to the
 * last one came (a reply as long as the request, as upper and echo give). A connection whose reply is later than
 * timeoutMs, that the peer closes or resets, fails and is counted as an error. It returns the first failure, or
 * undefined; clock.begin() is awaited once the connections are up.
 */
export async function tcpLoadLibc(
  c: Libc,
  address: string,
  port: number,
  load: { concurrency: number; payload: Uint8Array; timeoutMs: number; sweepMs: number },
  tally: LoadTally,
  clock: Clock,
): Promise<unknown> {
  const where = hostPort(address, port);
  const addr = newSockaddr(address, port);
  if (!addr) throw new Error(`not an IP address: ${address}`);
  const errno = () => errnoOf(c);
  const error = (op: "connect" | "read" | "write", code: string, reason?: string) =>
    NetError.from(op, "tcp", where, Object.assign(new Error(reason ?? code), { code }));
  const ep = c.epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) throw new Error(`epoll_create1: ${errnoName(errno())}`);
  const mem = new Memory(load.payload);
  const { events, payloadPtr, bufferPtr, eventsPtr } = mem;
  const watch = (op: number, fd: number, index: number, flags: number) => {
    mem.event.setUint32(0, flags, true);
    mem.event.setUint32(EVENT_DATA, index, true);
    c.epoll_ctl(ep, op, fd, mem.eventPtr);
  };
  const { one, soError, soLength } = mem;
  const payload = mem.payload;
  const size = payload.length;

  let failed: unknown;
  let live = 0;
  const conns: Conn[] = [];
  const fail = (conn: Conn, err: NetError) => {
    if (conn.state === "over") return;
    failed ??= err;
    tally.errors++;
    if (conn.state === "waiting") live--;
    conn.state = "over";
    c.close(conn.fd);
  };
  const finish = (conn: Conn) => {
    live--;
    conn.state = "over";
    c.close(conn.fd);
  };
  /** pushOut writes what the socket takes of the request, and asks epoll for room while some is left. */
  const pushOut = (conn: Conn) => {
    while (conn.out < size) {
      const at = (payloadPtr + conn.out) as Ffi.Pointer;
      const sent = Number(c.send(conn.fd, at, size - conn.out, MSG_DONTWAIT | MSG_NOSIGNAL));
      if (sent < 0) {
        const code = errno();
        if (code !== EAGAIN) return fail(conn, error("write", errnoName(code)));
        if (!conn.writable) watch(EPOLL_CTL_MOD, conn.fd, conn.index, EPOLLIN | EPOLLOUT);
        conn.writable = true;
        return;
      }
      conn.out += sent;
    }
    if (conn.writable) watch(EPOLL_CTL_MOD, conn.fd, conn.index, EPOLLIN);
    conn.writable = false;
  };
  const request = (conn: Conn, now: number) => {
    if (now >= clock.stopAt) return finish(conn);
    conn.got = 0;
    conn.out = 0;
    conn.sentAt = now;
    tally.requests++;
    pushOut(conn);
  };

  try {
    // Dial: every connect at once, then the handshakes as epoll says they finish, within timeoutMs.
    for (let i = 0; i < load.concurrency; i++) {
      const fd = c.socket(addr.length === 16 ? AF_INET : AF_INET6, SOCK_STREAM_NONBLOCK_CLOEXEC, 0);
      if (fd < 0) {
        failed ??= error("connect", errnoName(errno()));
        tally.errors++;
        continue;
      }
      const conn: Conn = { fd, index: conns.length, got: 0, out: 0, writable: false, sentAt: 0, state: "dialing" };
      conns.push(conn);
      if (c.connect(fd, bunFfi().ptr(addr), addr.length) !== 0 && errno() !== EINPROGRESS) {
        fail(conn, error("connect", errnoName(errno())));
        continue;
      }
      c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, bunFfi().ptr(one), 4);
      watch(EPOLL_CTL_ADD, fd, conn.index, EPOLLOUT);
    }
    const dialDeadline = performance.now() + load.timeoutMs;
    let dialing = conns.filter((conn) => conn.state === "dialing").length;
    while (dialing > 0) {
      const left = dialDeadline - performance.now();
      if (left <= 0) {
        for (const conn of conns) if (conn.state === "dialing") fail(conn, error("connect", "ETIMEDOUT"));
        break;
      }
      const n = c.epoll_wait(ep, eventsPtr, EVENTS, Math.min(SLICE_MS, Math.ceil(left)));
      for (let i = 0; i < n; i++) {
        const conn = conns[events.getUint32(i * EVENT + EVENT_DATA, true)]!;
        if (conn.state !== "dialing") continue;
        dialing--;
        soLength[0] = 4;
        c.getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, bunFfi().ptr(soError), bunFfi().ptr(soLength));
        if (soError[0] !== 0) {
          fail(conn, error("connect", errnoName(soError[0]!)));
          continue;
        }
        conn.state = "waiting";
        live++;
        watch(EPOLL_CTL_MOD, conn.fd, conn.index, EPOLLIN);
      }
      if (n <= 0) await new Promise((resolve) => setImmediate(resolve));
    }
    if (live === 0) return failed;

    await clock.begin();
    let now = performance.now();
    for (const conn of conns) if (conn.state === "waiting") request(conn, now);
    let nextSweep = now + load.sweepMs;
    while (live > 0) {
      const sliceEnd = performance.now() + SLICE_MS;
      while (live > 0 && performance.now() < sliceEnd) {
        const n = c.epoll_wait(ep, eventsPtr, EVENTS, 1);
        now = performance.now();
        for (let i = 0; i < n; i++) {
          const conn = conns[events.getUint32(i * EVENT + EVENT_DATA, true)]!;
          if (conn.state !== "waiting") continue;
          const flags = events.getUint32(i * EVENT, true);
          if (conn.writable && flags & EPOLLOUT) {
            pushOut(conn);
            if (!(flags & (EPOLLIN | EPOLLERR | EPOLLHUP)) || conn.state !== "waiting") continue;
          }
          const got = Number(c.recv(conn.fd, bufferPtr, READ_BUFFER, MSG_DONTWAIT));
          if (got < 0) {
            const code = errno();
            if (code === EAGAIN) continue;
            fail(conn, error("read", errnoName(code)));
          } else if (got === 0) {
            const hup = flags & (EPOLLERR | EPOLLHUP);
            fail(conn, error("read", hup ? "ECONNRESET" : "EPIPE", "connection closed by peer"));
          } else {
            conn.got += got;
            if (conn.got < size) continue;
            tally.reply(now - conn.sentAt, conn.got);
            request(conn, now);
          }
        }
        if (now >= nextSweep) {
          nextSweep = now + load.sweepMs;
          const late = now - load.timeoutMs;
          for (const conn of conns)
            if (conn.state === "waiting" && conn.sentAt < late)
              fail(conn, error("read", "ETIMEDOUT", `no reply within ${load.timeoutMs}ms`));
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    return failed;
  } finally {
    for (const conn of conns) if (conn.state !== "over") c.close(conn.fd);
    c.close(ep);
    mem.release();
  }
}
