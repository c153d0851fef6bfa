// The few PostgreSQL protocol messages a readiness check needs (SSLRequest, StartupMessage, Terminate, and reading the
// server's first answer), and naming what answered when it was not the service asked for.

const enc = new TextEncoder();

/** SSL_REQUEST asks the server to switch to TLS; it answers one byte, S or N. */
export const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** TERMINATE is the Terminate message: the client is leaving. */
export const TERMINATE = new Uint8Array([0x58, 0, 0, 0, 4]);

/**
 * startupMessage is protocol 3.0's StartupMessage. application_name ends in a line feed: postgres never applies it
 * before authentication (and shows it cleaned), while a line-based server (redis) then answers with an error instead
 * of waiting for a line to end, so a wrong service is named rather than timed out.
 */
export function startupMessage(user: string, database: string): Uint8Array {
  const params = ["user", user, ...(database ? ["database", database] : []), "application_name", "upcat\n"];
  const body = enc.encode(`${params.join("\0")}\0\0`);
  const out = new Uint8Array(8 + body.length);
  const view = new DataView(out.buffer);
  view.setInt32(0, out.length);
  view.setInt32(4, 3 << 16);
  out.set(body, 8);
  return out;
}

/** PgAnswer is the server's first message after a StartupMessage, as far as a check reads it. */
export type PgAnswer =
  | { kind: "auth"; code: number; method: string }
  | { kind: "error"; severity: string; sqlstate: string; message: string }
  | { kind: "more" }
  | { kind: "foreign" };

const AUTH_METHODS: Record<number, string> = {
  0: "trust",
  2: "Kerberos",
  3: "password",
  5: "MD5",
  7: "GSSAPI",
  9: "SSPI",
  10: "SASL",
};

/** readAnswer reads the first message of `bytes`: more when incomplete, foreign when it is no postgres message. */
export function readAnswer(bytes: Uint8Array): PgAnswer {
  if (bytes.length === 0) return { kind: "more" };
  const type = bytes[0];
  if (type !== 0x52 && type !== 0x45) return { kind: "foreign" };
  if (bytes.length < 5) return { kind: "more" };
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getInt32(1);
  // An AuthenticationRequest is 8 bytes and more for SASL's mechanism list; an ErrorResponse is a few hundred.
  if (type === 0x52 && (length < 8 || length > 2048)) return { kind: "foreign" };
  if (type === 0x45 && (length < 5 || length > 30_000)) return { kind: "foreign" };
  if (bytes.length < 1 + length) return { kind: "more" };
  const body = bytes.subarray(5, 1 + length);
  if (type === 0x52) {
    const code = new DataView(body.buffer, body.byteOffset, body.length).getInt32(0);
    let method = AUTH_METHODS[code] ?? `method ${code}`;
    if (code === 10) {
      const mechanisms = new TextDecoder().decode(body.subarray(4)).split("\0").filter(Boolean);
      if (mechanisms.length) method = mechanisms.join(", ");
    }
    return { kind: "auth", code, method };
  }
  const fields = new Map<string, string>();
  const text = new TextDecoder().decode(body);
  let at = 0;
  while (at < text.length && text[at] !== "\0") {
    const end = text.indexOf("\0", at + 1);
    if (end < 0) return { kind: "foreign" };
    fields.set(text[at]!, text.slice(at + 1, end));
    at = end + 1;
  }
  const sqlstate = fields.get("C") ?? "";
  if (!/^[0-9A-Z]{5}$/.test(sqlstate) || !fields.has("M")) return { kind: "foreign" };
  return {
    kind: "error",
    severity: fields.get("V") ?? fields.get("S") ?? "ERROR",
    sqlstate,
    message: fields.get("M")!,
  };
}

/**
 * NOT_READY are the SQLSTATEs of a server that is up but turns connections away for now: 57P03 cannot_connect_now
 * (starting up, shutting down, in recovery) as pg_isready reads it, and 53300 too_many_connections.
 */
export const NOT_READY = new Set(["57P03", "53300"]);
