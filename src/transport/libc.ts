// The few libc socket calls upcat makes itself (bun:ffi), for what Bun's sockets do not say or do not do: the kernel's
// own errno of a connect, a loopback port check without an event loop turn, the bench's batches. Linux only: the
// constants here are Linux's; elsewhere, or when libc cannot be opened, the getters give null and callers keep to
// Bun's way.
import type * as Ffi from "bun:ffi";
import { ipVersion } from "./ip.ts";

export const AF_INET = 2;
export const AF_INET6 = 10;
/** SOCK_STREAM and SOCK_DGRAM sockets, made non-blocking and close-on-exec (socket(2)'s type flags). */
export const SOCK_STREAM_NONBLOCK_CLOEXEC = 1 | 0o4000 | 0o2000000;
export const SOCK_DGRAM_NONBLOCK_CLOEXEC = 2 | 0o4000 | 0o2000000;
export const SOL_SOCKET = 1;
export const SO_ERROR = 4;
export const MSG_DONTWAIT = 0x40;
export const POLLIN = 1;
const POLLOUT = 4;
/** EAGAIN is a non-blocking call's "nothing now". */
export const EAGAIN = 11;
/** EINPROGRESS is a non-blocking connect's "not yet": poll() says when it is done. */
export const EINPROGRESS = 115;

/** Linux errno numbers of the failures a socket call can meet, by name. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  13: "EACCES",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  32: "EPIPE",
  90: "EMSGSIZE",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  101: "ENETUNREACH",
  104: "ECONNRESET",
  105: "ENOBUFS",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
};

/** errnoName is "ECONNREFUSED" for 111, and "errno N" for a number this table does not know. */
export const errnoName = (errno: number): string => ERRNO_NAMES[errno] ?? `errno ${errno}`;

let ffiModule: typeof Ffi | undefined;
/** bunFfi is bun:ffi, loaded at its first use: only some commands need it, and every start-up would pay its import. */
export function bunFfi(): typeof Ffi {
  ffiModule ??= require("bun:ffi") as typeof Ffi;
  return ffiModule;
}

type FfiTypes = typeof Ffi.FFIType;
/** COMMON are the calls every user of libc here makes: a socket, its connect and close, and errno. */
const COMMON = (t: FfiTypes) =>
  ({
    socket: { args: [t.i32, t.i32, t.i32], returns: t.i32 },
    connect: { args: [t.i32, t.ptr, t.u32], returns: t.i32 },
    close: { args: [t.i32], returns: t.i32 },
    __errno_location: { args: [], returns: t.ptr },
  }) as const;

/**
 * libcOnce is a getter of libc's COMMON calls and the `more` a caller asks for, opened at the first call (glibc,
 * then musl for the -musl release builds): null off 64-bit Linux (the constants and struct layouts here are its), or
 * when libc does not open, and the caller then keeps to Bun's way. Each caller asks for its own few: bun:ffi
 * compiles a stub for every symbol it is given, and a check should not pay for the bench's.
 */
export function libcOnce<const T extends Record<string, Ffi.FFIFunction>>(more: (t: FfiTypes) => T) {
  type Symbols = Ffi.ConvertFns<ReturnType<typeof COMMON> & T>;
  let opened: Symbols | null | undefined;
  return (): Symbols | null => {
    if (opened !== undefined) return opened;
    opened = null;
    if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) return opened;
    const { dlopen, FFIType } = bunFfi();
    const wanted = { ...COMMON(FFIType), ...more(FFIType) };
    for (const name of libcNames()) {
      try {
        opened = dlopen(name, wanted).symbols as Symbols;
        break;
      } catch {
        // try the next name
      }
    }
    return opened;
  };
}

/** libcNames are the libraries libcOnce tries, in order: glibc, then musl for the -musl release builds. */
export const libcNames = (): string[] => [
  "libc.so.6",
  `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`,
];

/** errnoOf reads errno through __errno_location: at once after the call that set it, before another can. */
export const errnoOf = (c: { __errno_location(): unknown }): number =>
  bunFfi().read.i32(c.__errno_location() as Ffi.Pointer, 0);

/**
 * localPortOf is the port the kernel bound `fd` to (getsockname: the port is at bytes 2 and 3 of both sockaddr_in and
 * sockaddr_in6, in network order), or -1 when it does not say.
 */
export function localPortOf(
  c: { getsockname(fd: number, name: Ffi.Pointer, length: Ffi.Pointer): number },
  fd: number,
) {
  const { ptr } = bunFfi();
  const name = new Uint8Array(new ArrayBuffer(28));
  const length = new Uint32Array([name.length]);
  return c.getsockname(fd, ptr(name), ptr(length)) === 0 ? (name[2]! << 8) | name[3]! : -1;
}

const lib = libcOnce((t) => ({
  poll: { args: [t.ptr, t.u64, t.i32], returns: t.i32 },
  getsockopt: { args: [t.i32, t.i32, t.i32, t.ptr, t.ptr], returns: t.i32 },
}));

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
  if (!c) return undefined;
  const m = (scratch ??= new Scratch());
  const addr = encodeSockaddr(address, port, m.v4, m.v6View);
  if (!addr) return undefined;
  const fd = c.socket(addr.length === 16 ? AF_INET : AF_INET6, SOCK_STREAM_NONBLOCK_CLOEXEC, 0);
  // No socket at all (EMFILE, ENFILE): the failure is this machine's, and says so.
  if (fd < 0) return failedHere(errnoName(errnoOf(c)));
  let settled: string | undefined;
  if (c.connect(fd, addr.length === 16 ? m.v4Ptr : m.v6Ptr, addr.length) === 0) settled = "connected";
  else {
    // Read at once: the next call into libc may set errno again.
    const errno = errnoOf(c);
    if (errno !== EINPROGRESS) settled = errnoName(errno);
  }
  return {
    result() {
      if (settled !== undefined) return settled;
      m.pollfd[0] = fd;
      m.pollfd[1] = POLLOUT;
      if (c.poll(m.pollfdPtr, 1, 0) === 0) return undefined;
      m.optlen[0] = 4;
      if (c.getsockopt(fd, SOL_SOCKET, SO_ERROR, m.errorPtr, m.optlenPtr) !== 0) return undefined;
      settled = m.error[0] === 0 ? "connected" : errnoName(m.error[0]!);
      return settled;
    },
    close: () => void c.close(fd),
  };
}

/** failedHere is a PendingConnect that never began, for the reason its socket could not be made. */
function failedHere(reason: string): PendingConnect {
  return { result: () => reason, close: () => {} };
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
  readonly v4Ptr = bunFfi().ptr(this.v4);
  readonly v6Ptr = bunFfi().ptr(this.v6);
  readonly pollfdPtr = bunFfi().ptr(this.pollfd);
  readonly errorPtr = bunFfi().ptr(this.error);
  readonly optlenPtr = bunFfi().ptr(this.optlen);
}
let scratch: Scratch | undefined;

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
