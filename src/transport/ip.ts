// Which IP version a text is, without importing node:net at start-up: that import costs a client 1.5 to 4 ms
// (Bun 1.4.5), and nearly every target is a dotted quad or a name.

/** IPV4 is a dotted quad as node:net's isIPv4 takes it: four decimal octets, no leading zeros. */
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** ipVersion is node:net's isIP: 4, 6, or 0 for a text that is no IP address. */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (IPV4.test(text)) return 4;
  // An IPv6 address has a colon; only then is node:net loaded to read it.
  if (!text.includes(":")) return 0;
  return (require("node:net") as typeof import("node:net")).isIPv6(text) ? 6 : 0;
}
