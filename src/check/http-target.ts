// Reads an http:// or https:// TARGET into the host, port and URL an HTTP check dials.
import { UsageError } from "../errors.ts";
import type { CheckTarget } from "./result.ts";
import { ipVersion } from "../transport/ip.ts";

const HTTP_SCHEME = /^https?:\/\//i;

/** isHttpSpec says whether a TARGET is a URL for an HTTP check rather than host:port. */
export function isHttpSpec(text: string): boolean {
  return HTTP_SCHEME.test(text.trim());
}

/** parseHttpTarget reads `http://host[:port]/path?query` (IPv6 in brackets); the port defaults to 80 or 443. */
export function parseHttpTarget(text: string): CheckTarget {
  const bad = (why: string): never => {
    throw new UsageError(`invalid target "${text}": ${why} (expected a URL such as http://127.0.0.1:8080/healthz)`);
  };
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return bad("not a URL");
  }
  if (url.hostname === "") bad("missing host");
  if (url.port === "0") bad('port "0" is not a number from 1 to 65535');
  const secure = url.protocol === "https:";
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  if (url.hostname.startsWith("[") && ipVersion(host) !== 6) bad(`"${host}" is not an IPv6 address`);
  // The fragment never goes on the wire; a target named with one would not say what was checked.
  url.hash = "";
  return {
    transport: "tcp",
    host,
    port: url.port ? Number(url.port) : secure ? 443 : 80,
    http: { url: url.href, secure },
  };
}
