// The descriptor of the UDP socket Bun bound for a server: Bun does not say it, so it is found among the process's
// descriptors by what the kernel says of each (a datagram socket, bound on that port).
import { AF_INET, AF_INET6, bunFfi, SOL_SOCKET } from "../libc.ts";
import type { BatchLibc } from "./libc.ts";

const SO_TYPE = 3;
const SOCK_DGRAM = 2;

/**
 * udpSocketFd is the one datagram socket of this process bound on `port`, or undefined when there is none, or more
 * than one (SO_REUSEPORT lets a process bind a port twice): the caller then leaves the socket to Bun alone.
 */
export function udpSocketFd(c: BatchLibc, port: number): number | undefined {
  const { ptr } = bunFfi();
  const name = new Uint8Array(new ArrayBuffer(128));
  const length = new Uint32Array(new ArrayBuffer(4));
  const type = new Int32Array(new ArrayBuffer(4));
  const found: number[] = [];
  let entries: string[];
  try {
    // Bun's Glob, not node:fs's readdir: that import costs the server megabytes of memory (read-input.ts).
    entries = [...new Bun.Glob("*").scanSync({ cwd: "/proc/self/fd", onlyFiles: false })];
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    const fd = Number(entry);
    length[0] = name.length;
    if (c.getsockname(fd, ptr(name), ptr(length)) !== 0) continue;
    // An IPv4 or IPv6 address (a Unix socket's path would be read as a port) on the port.
    if ((name[0] !== AF_INET && name[0] !== AF_INET6) || name[1] !== 0 || ((name[2]! << 8) | name[3]!) !== port)
      continue;
    length[0] = 4;
    if (c.getsockopt(fd, SOL_SOCKET, SO_TYPE, ptr(type), ptr(length)) === 0 && type[0] === SOCK_DGRAM) found.push(fd);
  }
  return found.length === 1 ? found[0] : undefined;
}
