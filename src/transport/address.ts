// Host names to addresses, and addresses to the text users read.
import { NetError } from "../errors.ts";
import { ipVersion } from "./ip.ts";
import type { Transport } from "./transport.ts";

/** hostPort joins a host and port, bracketing IPv6 as URLs do. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** plainAddress shows an IPv4-mapped IPv6 address (from a dual-stack socket) as the IPv4 address it is. */
export function plainAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/**
 * resolveHost looks a host up through the system resolver (DNS, /etc/hosts), IPv4 first as the
 * textbook's AF_INET sockets do, keeping IPv6 addresses as fallbacks.
 */
export async function resolveHost(
  host: string,
  transport: Transport,
  hint = "check the name, or use an IP address",
): Promise<string[]> {
  if (ipVersion(host)) return [host];
  try {
    // Loaded for a name only: an address, the common case in runbooks, needs no resolver.
    const { lookup } = await import("node:dns/promises");
    const found = await lookup(host, { all: true });
    const addresses = [...found].sort((a, b) => a.family - b.family).map((a) => a.address);
    if (addresses.length === 0) throw Object.assign(new Error("no addresses"), { code: "ENOTFOUND" });
    return [...new Set(addresses)];
  } catch (err) {
    throw NetError.from("resolve", transport, host, err, hint);
  }
}
