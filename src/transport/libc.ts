// The few libc socket calls upcat makes itself (bun:ffi), for what Bun's sockets do not say: the kernel's own
// errno of a connect. Linux only: the constants below are Linux's; elsewhere, or when libc cannot be opened,
// libc() is null and callers keep Bun's answer.
import type * as Ffi from "bun:ffi";
import { ipVersion } from "./ip.ts";

export const AF_INET = 2;
export const AF_INET6 = 10;
const SOCK_STREAM_NONBLOCK_CLOEXEC = 1 | 0o4000 | 0o2000000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const POLLOUT = 4;
/** EINPROGRESS is a non-blocking connect's "not yet": poll() says when it is done. */
export const EINPROGRESS = 115;

/** Linux errno numbers of the failures a connect can meet, by name. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  13: "EACCES",
  24: "EMFILE",
  32: "EPIPE",
  22: "EINVAL",
  101: "ENETUNREACH",
  104: "ECONNRESET",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
};

/** errnoName is "ECONNREFUSED" for 111, and "errno N" for a number this table does not know. */
export const errnoName = (errno: number): string => ERRNO_NAMES[errno] ?? `errno ${errno}`;

type Symbols = ReturnType<typeof openLibc>;
/** ffi is bun:ffi, loaded with libc: only some checks need it, and every start-up would pay its import. */
let ffi: typeof Ffi;

function openLibc() {
  ffi = require("bun:ffi") as typeof Ffi;
  const { FFIType } = ffi;
  const symbols = dlopenLibc({
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  } as const);
  scratch = new Scratch(symbols.__errno_location() as Ffi.Pointer);
  return symbols;
}

/**
 * dlopenLibc opens the C library with these symbols: glibc, then musl (the -musl release builds). Each caller asks
 * for its own few: bun:ffi compiles a stub for every symbol it is given, and a check should not pay for the bench's.
 * It throws when neither library opens.
 */
export function dlopenLibc<const T extends Record<string, Ffi.FFIFunction>>(wanted: T): Ffi.ConvertFns<T> {
  const { dlopen } = require("bun:ffi") as typeof Ffi;
  for (const name of ["libc.so.6", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`]) {
    try {
      return dlopen(name, wanted).symbols;
    } catch {
      // try the next name
    }
  }
  throw new Error("no libc");
}

/**
 * libcOnce is a getter of the symbols `open` returns, opened at the first call: null off 64-bit Linux (the
 * constants and struct layouts here are its), or when libc does not open, and the caller then keeps to Bun's way.
 */
export function libcOnce<T>(open: () => T): () => T | null {
  let opened: T | null | undefined;
  return () => {
    if (opened === undefined) {
      try {
        const linux64 = process.platform === "linux" && (process.arch === "x64" || process.arch === "arm64");
        opened = linux64 ? open() : null;
      } catch {
        opened = null;
      }
    }
    return opened;
  };
}

const lib = libcOnce(openLibc);

/**
 * PendingConnect is one non-blocking TCP connect through libc. `result` is undefined while the handshake is
 * under way; `close` must be called once, whatever happened.
 */
export interface PendingConnect {
  /** result polls without waiting: "connected", an errno name, or undefined while the kernel is still at it. */
  result(): string | undefined;
  close(): void;
}

/**
 * startConnect begins a non-blocking connect to an IP literal and port, or returns undefined when libc is not
 * at hand or the address is not one it can encode (a name, a scoped IPv6 address).
 */
export function startConnect(address: string, port: number): PendingConnect | undefined {
  const c = lib();
  const addr = c && sockaddr(address, port);
  if (!c || !addr) return undefined;
  const fd = c.socket(addr.length === 16 ? AF_INET : AF_INET6, SOCK_STREAM_NONBLOCK_CLOEXEC, 0);
  if (fd < 0) return undefined;
  let settled: string | undefined;
  if (c.connect(fd, addr.length === 16 ? scratch.v4Ptr : scratch.v6Ptr, addr.length) === 0) settled = "connected";
  else {
    // Read at once: the next call into libc may set errno again.
    const errno = ffi.read.i32(scratch.errnoPtr, 0);
    if (errno !== EINPROGRESS) settled = errnoName(errno);
  }
  return {
    result() {
      if (settled !== undefined) return settled;
      scratch.pollfd[0] = fd;
      scratch.pollfd[1] = POLLOUT;
      if (c.poll(scratch.pollfdPtr, 1, 0) === 0) return undefined;
      scratch.optlen[0] = 4;
      if (c.getsockopt(fd, SOL_SOCKET, SO_ERROR, scratch.errorPtr, scratch.optlenPtr) !== 0) return undefined;
      settled = scratch.error[0] === 0 ? "connected" : errnoName(scratch.error[0]!);
      return settled;
    },
    close: () => void c.close(fd),
  };
}

/**
 * Scratch is the memory the calls above hand to libc, made once: every call is synchronous, and a 1000-port scan
 * would otherwise make (and pin) six buffers a port. Each view is made over an ArrayBuffer of its own: a small
 * typed array made bare keeps its bytes inside the object and moves them the first time its .buffer is read, which
 * leaves a pointer taken before that pointing at the old bytes.
 */
class Scratch {
  readonly v4 = new Uint8Array(new ArrayBuffer(16));
  readonly v6 = new Uint8Array(new ArrayBuffer(28));
  readonly v6View = new DataView(this.v6.buffer);
  /** struct pollfd: int fd, then short events and short revents, read as two int32s (events in the low half). */
  readonly pollfd = new Int32Array(new ArrayBuffer(8));
  readonly error = new Int32Array(new ArrayBuffer(4));
  readonly optlen = new Uint32Array(new ArrayBuffer(4));
  readonly v4Ptr = ffi.ptr(this.v4);
  readonly v6Ptr = ffi.ptr(this.v6);
  readonly pollfdPtr = ffi.ptr(this.pollfd);
  readonly errorPtr = ffi.ptr(this.error);
  readonly optlenPtr = ffi.ptr(this.optlen);
  constructor(readonly errnoPtr: Ffi.Pointer) {}
}
let scratch: Scratch;

/** sockaddr encodes an IP literal and port as the kernel's sockaddr_in or sockaddr_in6, in the scratch memory. */
function sockaddr(address: string, port: number): Uint8Array | undefined {
  return encodeSockaddr(address, port, scratch.v4, scratch.v6View);
}

/**
 * newSockaddr encodes an IP literal and port as a sockaddr_in or sockaddr_in6 of its own (over an ArrayBuffer, so a
 * pointer to it stays put), or returns undefined for a name or a scoped IPv6 address.
 */
export function newSockaddr(address: string, port: number): Uint8Array | undefined {
  return encodeSockaddr(address, port, new Uint8Array(new ArrayBuffer(16)), new DataView(new ArrayBuffer(28)));
}

function encodeSockaddr(address: string, port: number, v4: Uint8Array, v6: DataView): Uint8Array | undefined {
  const family = ipVersion(address);
  if (family === 4) {
    v4[0] = AF_INET;
    v4[2] = port >> 8;
    v4[3] = port & 0xff;
    let octet = 0;
    let i = 4;
    for (let k = 0; k < address.length; k++) {
      const ch = address.charCodeAt(k);
      if (ch === 46) {
        v4[i++] = octet;
        octet = 0;
      } else octet = octet * 10 + ch - 48;
    }
    v4[i] = octet;
    return v4;
  }
  if (family === 6 && !address.includes("%")) {
    v6.setUint16(0, AF_INET6, true);
    v6.setUint16(2, port, false);
    expandIpv6(address).forEach((group, i) => v6.setUint16(8 + 2 * i, group, false));
    return new Uint8Array(v6.buffer);
  }
  return undefined;
}

/** expandIpv6 reads an IPv6 literal (with :: and an IPv4 tail) as its eight 16-bit groups. */
export function expandIpv6(address: string): number[] {
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
