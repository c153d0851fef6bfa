// A UDP server socket of our own through libc, bound as listenUdp binds Bun's: non-blocking, dual-stack on "::",
// SO_REUSEPORT only for --workers (no SO_REUSEADDR, so a second server on the port fails as it does with Bun).
import {
  AF_INET,
  AF_INET6,
  bunFfi,
  errnoName,
  errnoOf,
  newSockaddr,
  SOCK_DGRAM_NONBLOCK_CLOEXEC,
  SOL_SOCKET,
} from "../libc.ts";
import type { BatchLibc } from "./libc.ts";

const SO_REUSEPORT = 15;

/** BoundSocket is a bound descriptor and the port the kernel gave it. */
export interface BoundSocket {
  fd: number;
  port: number;
}

/**
 * bindDatagram binds a UDP socket on an IP literal and port, or returns undefined for an address libc cannot be
 * given (a scoped IPv6 one): Bun's socket serves those. A refused bind throws an error with the errno's name as its
 * code, which bindOrExplain turns into advice.
 */
export function bindDatagram(c: BatchLibc, host: string, port: number, reusePort: boolean): BoundSocket | undefined {
  const addr = newSockaddr(host, port);
  if (!addr) return undefined;
  const { ptr } = bunFfi();
  const fd = c.socket(addr.length === 16 ? AF_INET : AF_INET6, SOCK_DGRAM_NONBLOCK_CLOEXEC, 0);
  if (fd < 0) throw bindError(errnoOf(c));
  const one = new Int32Array(new ArrayBuffer(4));
  one[0] = 1;
  const fail = () => {
    const errno = errnoOf(c);
    c.close(fd);
    return bindError(errno);
  };
  if (reusePort && c.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, ptr(one), 4) !== 0) throw fail();
  if (c.bind(fd, ptr(addr), addr.length) !== 0) throw fail();
  const name = new Uint8Array(new ArrayBuffer(28));
  const length = new Uint32Array(new ArrayBuffer(4));
  length[0] = name.length;
  if (c.getsockname(fd, ptr(name), ptr(length)) !== 0) throw fail();
  return { fd, port: (name[2]! << 8) | name[3]! };
}

function bindError(errno: number): Error {
  const code = errnoName(errno);
  return Object.assign(new Error(`bind: ${code}`), { code });
}
