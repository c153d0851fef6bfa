// A port check on loopback without an event loop round trip: the kernel finishes a loopback handshake (or its
// refusal) inside connect(), so one non-blocking connect and one poll() say open or closed. A port of a scan of this
// host then costs about what it costs nc -z, not a Bun socket made and torn down and a second dial for the errno.
import { expandIpv6, startConnect } from "./libc.ts";
import { ipVersion } from "./ip.ts";

/** isLoopback says whether an IP literal is 127.0.0.0/8, ::1, or 127.x.y.z written as IPv4-mapped IPv6. */
export function isLoopback(address: string): boolean {
  const family = ipVersion(address);
  if (family === 4) return address.startsWith("127.");
  if (family !== 6 || address.includes("%")) return false;
  const g = expandIpv6(address);
  if (g.slice(0, 5).some((x) => x !== 0)) return false;
  if (g[5] === 0) return g[6] === 0 && g[7] === 1;
  return g[5] === 0xffff && g[6]! >> 8 === 127;
}

/**
 * connectLoopback dials a loopback address:port and closes at once (a FIN when it connected, as nc -z does). It
 * answers "connected" or "ECONNREFUSED", or undefined for anything else, which the caller dials again the usual
 * way: a handshake still under way (a full accept queue), another errno, no libc, or not a loopback address.
 */
export function connectLoopback(address: string, port: number): "connected" | "ECONNREFUSED" | undefined {
  if (!isLoopback(address)) return undefined;
  const dial = startConnect(address, port);
  if (!dial) return undefined;
  try {
    const result = dial.result();
    return result === "connected" || result === "ECONNREFUSED" ? result : undefined;
  } finally {
    dial.close();
  }
}
