// A UDP client's source port that upcat's own servers answer. Servers refuse datagrams from the service ports
// (reflection.ts), and Linux's ephemeral range (32768-60999) holds one of them, Jenkins' 33848: about one socket in
// 28 000 that the kernel binds for a client would get no reply from `upcat serve` or `upcat relay`, through every
// retry. A CI run once failed that way, most likely: one line of a relay's 48 sessions, every try lost.
import type { Pointer } from "bun:ffi";
import { AF_INET, AF_INET6, bunFfi, errnoOf, localPortOf, SOCK_DGRAM_NONBLOCK_CLOEXEC } from "./libc.ts";
import { isServicePort } from "./reflection.ts";

/** TRIES bounds the binds: the kernel gives another port while the refused ones stay open. */
const TRIES = 4;

/** UdpFdLibc is the libc calls clientUdpFd makes. */
interface UdpFdLibc {
  socket(domain: number, type: number, protocol: number): number;
  connect(fd: number, addr: Pointer, length: number): number;
  close(fd: number): number;
  getsockname(fd: number, name: Pointer, length: Pointer): number;
  __errno_location(): unknown;
}

/**
 * clientUdpFd opens a non-blocking UDP socket through libc connected to `addr` (a sockaddr, libc.ts newSockaddr), on a
 * port that is not a service port; it throws failed(errno) when the socket or its connect fails.
 */
export function clientUdpFd(c: UdpFdLibc, addr: Uint8Array, failed: (errno: number) => Error): number {
  const refused: number[] = [];
  try {
    for (;;) {
      const fd = c.socket(addr.length === 16 ? AF_INET : AF_INET6, SOCK_DGRAM_NONBLOCK_CLOEXEC, 0);
      if (fd < 0 || c.connect(fd, bunFfi().ptr(addr), addr.length) !== 0) {
        const code = errnoOf(c);
        if (fd >= 0) c.close(fd);
        throw failed(code);
      }
      if (refused.length >= TRIES || !isServicePort(localPortOf(c, fd))) return fd;
      // Held open until another is bound, so that the kernel does not give the same port back.
      refused.push(fd);
    }
  } finally {
    for (const fd of refused) c.close(fd);
  }
}

/** clientUdpSocket is clientUdpFd's rule for Bun's sockets, which are opened with a promise and say their port. */
export async function clientUdpSocket<S extends { readonly port: number; close(): void }>(open: () => Promise<S>) {
  const refused: S[] = [];
  try {
    for (;;) {
      const s = await open();
      if (refused.length >= TRIES || !isServicePort(s.port)) return s;
      refused.push(s);
    }
  } finally {
    for (const s of refused) s.close();
  }
}
