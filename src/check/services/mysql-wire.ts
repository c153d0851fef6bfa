// The MySQL / MariaDB packets a readiness check reads and writes: the server's greeting (Handshake v10) or the error
// packet sent instead, a login with no password to end the exchange as a normal connection, and COM_QUIT.

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Packet is one protocol packet: its sequence id and payload. */
export interface Packet {
  seq: number;
  payload: Uint8Array;
}

/** readPacket takes the first whole packet off `bytes`: undefined when more must come; `rest` is what follows it. */
export function readPacket(bytes: Uint8Array): { packet: Packet; rest: Uint8Array } | undefined {
  if (bytes.length < 4) return undefined;
  const length = bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16);
  if (bytes.length < 4 + length) return undefined;
  return { packet: { seq: bytes[3]!, payload: bytes.subarray(4, 4 + length) }, rest: bytes.subarray(4 + length) };
}

/** Greeting is what the first packet says: a Handshake v10, an error instead, or something that is no MySQL. */
export type Greeting =
  | { kind: "handshake"; version: string; capabilities: number }
  | { kind: "error"; code: number; message: string }
  | { kind: "more" }
  | { kind: "foreign" };

/** readGreeting reads the server's first packet as a client waiting for its greeting does. */
export function readGreeting(bytes: Uint8Array): Greeting {
  if (bytes.length >= 4) {
    const length = bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16);
    // A greeting is about a hundred bytes with sequence id 0, and starts with 10 (or 0xff for an error).
    if (bytes[3] !== 0 || length < 3 || length > 4096) return { kind: "foreign" };
    if (bytes.length >= 5 && bytes[4] !== 0x0a && bytes[4] !== 0xff) return { kind: "foreign" };
  }
  const got = readPacket(bytes);
  if (!got) return { kind: "more" };
  const p = got.packet.payload;
  if (p[0] === 0xff) {
    const code = p[1]! | (p[2]! << 8);
    let text = dec.decode(p.subarray(3));
    // A protocol-4.1 error carries '#' and a SQLSTATE; the early ones sent before the greeting do not.
    if (text.startsWith("#")) text = text.slice(6);
    return { kind: "error", code, message: text };
  }
  const end = p.indexOf(0, 1);
  if (end < 0 || end > 100) return { kind: "foreign" };
  const version = dec.decode(p.subarray(1, end));
  if (!/^[\x20-\x7e]+$/.test(version)) return { kind: "foreign" };
  // thread id (4), scramble part 1 (8), filler (1), then the capabilities' low 2 bytes; charset, status, high 2 bytes.
  const at = end + 1 + 4 + 8 + 1;
  const low = p.length >= at + 2 ? p[at]! | (p[at + 1]! << 8) : 0;
  const high = p.length >= at + 7 ? p[at + 5]! | (p[at + 6]! << 8) : 0;
  return { kind: "handshake", version, capabilities: (low | (high << 16)) >>> 0 };
}

const CLIENT_LONG_PASSWORD = 0x1;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_PLUGIN_AUTH = 0x80000;

function packet(seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out[0] = payload.length & 0xff;
  out[1] = (payload.length >> 8) & 0xff;
  out[2] = (payload.length >> 16) & 0xff;
  out[3] = seq & 0xff;
  out.set(payload, 4);
  return out;
}

/**
 * loginPacket is a HandshakeResponse41 for `user` with an empty password, as haproxy's mysql-check sends: the server
 * answers it with OK or "Access denied", a connection like any other, where a client that leaves after the greeting
 * is an aborted connect that counts against max_connect_errors.
 */
export function loginPacket(user: string, serverCapabilities: number): Uint8Array {
  const plugin = (serverCapabilities & CLIENT_PLUGIN_AUTH) !== 0;
  const caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | (plugin ? CLIENT_PLUGIN_AUTH : 0);
  const name = enc.encode(`${user}\0`);
  const pluginName = plugin ? enc.encode("mysql_native_password\0") : new Uint8Array(0);
  const body = new Uint8Array(4 + 4 + 1 + 23 + name.length + 1 + pluginName.length);
  const view = new DataView(body.buffer);
  view.setUint32(0, caps, true);
  view.setUint32(4, 16 * 1024 * 1024, true);
  body[8] = 33; // utf8_general_ci
  body.set(name, 32);
  body[32 + name.length] = 0; // no auth response
  body.set(pluginName, 33 + name.length);
  return packet(1, body);
}

/** emptyAuth answers an auth switch request (0xfe) with an empty password, as the packet after `seq`. */
export const emptyAuth = (seq: number) => packet(seq + 1, new Uint8Array(0));

/** COM_QUIT ends a session that logged in. */
export const COM_QUIT = packet(0, new Uint8Array([0x01]));
