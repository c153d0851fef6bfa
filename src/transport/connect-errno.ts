// Asks the kernel why a TCP connect failed: Bun reports ECONNREFUSED for every failed connect, unreachable hosts and
// networks included.
//
// Bun.connect and node:net (Bun 1.4) both say ECONNREFUSED for EHOSTUNREACH and ENETUNREACH, whether
// the kernel answered at once (an unreachable route, no route) or an ICMP error came back (REJECT
// --reject-with icmp-host-unreachable, a failed ARP). A refusal and an unreachable network send an
// on-call engineer to different people, so after a "refused" the check dials the same address once
// more through libc (bun:ffi), non-blocking, and reads the real errno: connect()'s own, or SO_ERROR
// once poll() says the socket is done. Linux only (the constants below are Linux's); elsewhere, or
// when libc cannot be opened, the answer is undefined and the refusal stands.
import type * as Ffi from "bun:ffi";
import { ipVersion } from "./ip.ts";

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM_NONBLOCK_CLOEXEC = 1 | 0o4000 | 0o2000000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const POLLOUT = 4;
const EINPROGRESS = 115;
const POLL_EVERY_MS = 2;

/** Linux errno numbers of the failures a connect can meet, by name. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  13: "EACCES",
  22: "EINVAL",
  101: "ENETUNREACH",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
};

type Libc = ReturnType<typeof openLibc>;
let libc: Libc | null | undefined;
/** ffi is bun:ffi, loaded with libc: only a refused connect needs it, and every start-up would pay its import. */
let ffi: typeof Ffi;

function openLibc() {
  ffi = require("bun:ffi") as typeof Ffi;
  const { FFIType } = ffi;
  const symbols = {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  } as const;
  // glibc, then musl (the -musl release builds).
  for (const name of ["libc.so.6", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`]) {
    try {
      return ffi.dlopen(name, symbols).symbols;
    } catch {
      // try the next name
    }
  }
  throw new Error("no libc");
}

function lib(): Libc | null {
  if (libc === undefined) {
    try {
      libc = process.platform === "linux" ? openLibc() : null;
    } catch {
      libc = null;
    }
  }
  return libc;
}

/** sockaddr encodes an IP literal and port as the kernel's sockaddr_in or sockaddr_in6. */
function sockaddr(address: string, port: number): Uint8Array | undefined {
  const family = ipVersion(address);
  if (family === 4) {
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setUint16(0, AF_INET, true);
    v.setUint16(2, port, false);
    address.split(".").forEach((octet, i) => (b[4 + i] = Number(octet)));
    return b;
  }
  if (family === 6 && !address.includes("%")) {
    const b = new Uint8Array(28);
    const v = new DataView(b.buffer);
    v.setUint16(0, AF_INET6, true);
    v.setUint16(2, port, false);
    expandIpv6(address).forEach((group, i) => v.setUint16(8 + 2 * i, group, false));
    return b;
  }
  return undefined;
}

/** expandIpv6 reads an IPv6 literal (with :: and an IPv4 tail) as its eight 16-bit groups. */
function expandIpv6(address: string): number[] {
  let text = address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const front = groups(head);
  const back = groups(tail);
  return tail === undefined ? front : [...front, ...new Array(8 - front.length - back.length).fill(0), ...back];
}

/**
 * connectErrno dials address:port once through libc and returns the errno name the kernel gives
 * (ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ...), "connected" if it connects this time, or undefined
 * when it cannot tell within budgetMs or on this platform. It never blocks the event loop.
 */
export async function connectErrno(address: string, port: number, budgetMs: number): Promise<string | undefined> {
  const c = lib();
  const addr = sockaddr(address, port);
  if (!c || !addr) return undefined;
  const fd = c.socket(addr.length === 16 ? AF_INET : AF_INET6, SOCK_STREAM_NONBLOCK_CLOEXEC, 0);
  if (fd < 0) return undefined;
  try {
    if (c.connect(fd, ffi.ptr(addr), addr.length) === 0) return "connected";
    // Read at once: the next call into libc may set errno again.
    const errno = ffi.read.i32(c.__errno_location()!, 0);
    if (errno !== EINPROGRESS) return ERRNO_NAMES[errno] ?? `errno ${errno}`;
    const pollfd = new Uint8Array(8);
    const pv = new DataView(pollfd.buffer);
    pv.setInt32(0, fd, true);
    pv.setInt16(4, POLLOUT, true);
    const deadline = performance.now() + budgetMs;
    // Poll without waiting, between timers, so other checks keep running.
    while (c.poll(ffi.ptr(pollfd), 1, 0) === 0) {
      if (performance.now() >= deadline) return undefined;
      await Bun.sleep(POLL_EVERY_MS);
    }
    const error = new Int32Array(1);
    const length = new Uint32Array([4]);
    if (c.getsockopt(fd, SOL_SOCKET, SO_ERROR, ffi.ptr(error), ffi.ptr(length)) !== 0) return undefined;
    return error[0] === 0 ? "connected" : (ERRNO_NAMES[error[0]!] ?? `errno ${error[0]}`);
  } finally {
    c.close(fd);
  }
}
