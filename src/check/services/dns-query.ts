// What a dns:// URL asks: the name (a PTR's IP address turned into its arpa name) and the type, read and checked once.
import { ipVersion } from "../../transport/ip.ts";
import { DnsWireError, type Name, nameFromText, QUERY_TYPES, type QueryType, reverseName, TYPES } from "./dns-wire.ts";

/** DnsQuestion is the one question a dns:// check asks. */
export interface DnsQuestion {
  /** name is the name on the wire; text is the same with a trailing dot, as answers print it. */
  readonly name: Name;
  readonly text: string;
  readonly type: QueryType;
  readonly code: number;
}

/** PARAMS are the query parameters a dns:// URL may carry. */
const PARAMS = new Set(["type"]);

/**
 * dnsQuestion reads the name to look up (the URL's path) and ?type= (A when absent; any case). A PTR question takes
 * an IP address and asks for its in-addr.arpa / ip6.arpa name. It throws DnsWireError with what is wrong.
 */
export function dnsQuestion(path: string, params: Readonly<Record<string, string>>): DnsQuestion {
  for (const key of Object.keys(params))
    if (!PARAMS.has(key)) throw new DnsWireError(`unknown parameter "${key}" (a dns:// URL takes ?type= only)`);
  const asked = (params.type ?? "A").toUpperCase();
  if (!(QUERY_TYPES as readonly string[]).includes(asked))
    throw new DnsWireError(`unknown record type "${params.type}" (expected one of ${QUERY_TYPES.join(", ")})`);
  const type = asked as QueryType;
  if (path === "") throw new DnsWireError("missing the name to look up (expected dns://127.0.0.1/example.com?type=A)");
  const address = type === "PTR" ? ipBytes(path) : undefined;
  const name = address ? reverseName(address) : nameFromText(path);
  const text = name.map((l) => new TextDecoder().decode(l)).join(".");
  return { name, text: `${text}.`.replace(/^\.$/, "."), type, code: TYPES[type] };
}

/** dnsQueryProblem is dnsQuestion's complaint about a dns:// URL, or undefined when it asks a good question. */
export function dnsQueryProblem(path: string, params: Readonly<Record<string, string>>): string | undefined {
  try {
    dnsQuestion(path, params);
    return undefined;
  } catch (err) {
    if (err instanceof DnsWireError) return err.message;
    throw err;
  }
}

/** ipBytes is an IP address's 4 or 16 bytes, or undefined when the text is no IP address. */
export function ipBytes(text: string): Uint8Array | undefined {
  const version = ipVersion(text);
  if (version === 4) return Uint8Array.from(text.split(".").map(Number));
  if (version !== 6) return undefined;
  let body = text.replace(/%.*$/, "");
  // An embedded dotted quad (::ffff:192.0.2.1) is its last two words.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(body);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    body = `${body.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = body.includes("::") ? body.split("::") : [body, undefined];
  const words = (s: string | undefined) =>
    s
      ? s
          .split(":")
          .filter((w) => w !== "")
          .map((w) => Number.parseInt(w, 16))
      : [];
  const front = words(head);
  const back = words(rest);
  const fill = rest === undefined ? [] : new Array(8 - front.length - back.length).fill(0);
  const all = [...front, ...fill, ...back];
  if (all.length !== 8) return undefined;
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 255;
  });
  return out;
}
