// Which IP version a text is, without importing node:net: that import costs a client 1.5 to 4 ms of start-up and a
// compiled program 6 MB of memory (Bun 1.4.5; read-input.ts has the figures).

/** IPV4 is a dotted quad as node:net's isIPv4 takes it: four decimal octets, no leading zeros. */
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * IPV6 is node:net's own expression for isIPv6 (lib/internal/net.js), with a zone after "%": the forms with "::" spelt
 * out by how many groups come before it. Read here rather than through node:net (a server binds "::" by default, and
 * would load it for that alone). tests/transport/ip.test.ts holds it to node:net's answers.
 */
const V4 = "(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const G = "[0-9a-fA-F]{1,4}";
const IPV6 = new RegExp(
  "^(?:" +
    `(?:${G}:){7}(?:${G}|:)|` +
    `(?:${G}:){6}(?:${V4}|:${G}|:)|` +
    `(?:${G}:){5}(?::${V4}|(?::${G}){1,2}|:)|` +
    `(?:${G}:){4}(?:(?::${G}){0,1}:${V4}|(?::${G}){1,3}|:)|` +
    `(?:${G}:){3}(?:(?::${G}){0,2}:${V4}|(?::${G}){1,4}|:)|` +
    `(?:${G}:){2}(?:(?::${G}){0,3}:${V4}|(?::${G}){1,5}|:)|` +
    `(?:${G}:){1}(?:(?::${G}){0,4}:${V4}|(?::${G}){1,6}|:)|` +
    `(?::(?:(?::${G}){0,5}:${V4}|(?::${G}){1,7}|:))` +
    ")(?:%[0-9a-zA-Z-.:]{1,})?$",
);

/** ipVersion is node:net's isIP: 4, 6, or 0 for a text that is no IP address. */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (IPV4.test(text)) return 4;
  return text.includes(":") && IPV6.test(text) ? 6 : 0;
}
