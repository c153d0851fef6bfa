// The DNS wire format (RFC 1035) as far as one query and its answer need: a query out, a reply read back with every
// length checked, names decompressed without loops, and the answer records printed as `dig +noall +answer` prints them.

/** TYPES are the record types read and printed by name; any other prints as TYPEnnn with RFC 3597's rdata. */
export const TYPES = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33 } as const;

/** QUERY_TYPES are the types a dns:// URL may ask for (?type=). */
export const QUERY_TYPES = ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "PTR"] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

const TYPE_NAMES = new Map<number, string>(Object.entries(TYPES).map(([name, code]) => [code, name]));

/** typeName is a record type as dig prints it: its mnemonic, or TYPEnnn (RFC 3597). */
export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

/** RCODES are the response codes a reply is graded by, by number. */
export const RCODES: Readonly<Record<number, string>> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
};

export const CLASS_IN = 1;
/** HEADER_SIZE is the fixed header every message starts with. */
export const HEADER_SIZE = 12;
/** MAX_NAME is the longest name on the wire, length octets and the root's zero included (RFC 1035 3.1). */
export const MAX_NAME = 255;
export const MAX_LABEL = 63;

/** DnsWireError is a message that cannot be read (or a name that cannot be written): never a crash, never a loop. */
export class DnsWireError extends Error {
  override name = "DnsWireError";
}

/** Name is a domain name as its labels (raw bytes, as on the wire), the root's empty label left out. */
export type Name = readonly Uint8Array[];

const LABEL = /^[A-Za-z0-9_-]+$/;

/**
 * nameFromText reads a name as a URL gives it: labels of letters, digits, '-' and '_' (SRV's _service._proto) and '*'
 * alone, joined by dots, a trailing dot allowed; "." is the root. It throws DnsWireError saying what is wrong.
 */
export function nameFromText(text: string): Name {
  if (text === ".") return [];
  const body = text.endsWith(".") ? text.slice(0, -1) : text;
  if (body === "") throw new DnsWireError("the name is empty");
  const labels = body.split(".");
  let wire = 1;
  const out: Uint8Array[] = [];
  for (const label of labels) {
    if (label === "") throw new DnsWireError(`"${text}" has an empty label (two dots, or a leading dot)`);
    if (label.length > MAX_LABEL) throw new DnsWireError(`a label of "${text}" is longer than ${MAX_LABEL} characters`);
    if (!LABEL.test(label) && label !== "*")
      throw new DnsWireError(
        `"${text}" is not a DNS name: a label may hold letters, digits, '-' and '_' only (write IDNs as xn--)`,
      );
    wire += label.length + 1;
    out.push(new TextEncoder().encode(label));
  }
  if (wire > MAX_NAME) throw new DnsWireError(`"${text.slice(0, 40)}…" is longer than ${MAX_NAME} octets on the wire`);
  return out;
}

/** reverseName is the in-addr.arpa or ip6.arpa name of an IP address given as bytes (4 or 16). */
export function reverseName(address: Uint8Array): Name {
  const enc = new TextEncoder();
  if (address.length === 4)
    return [...[...address].reverse().map((b) => enc.encode(String(b))), enc.encode("in-addr"), enc.encode("arpa")];
  const nibbles: Uint8Array[] = [];
  for (let i = address.length - 1; i >= 0; i--) {
    const b = address[i]!;
    nibbles.push(enc.encode((b & 15).toString(16)), enc.encode((b >> 4).toString(16)));
  }
  return [...nibbles, enc.encode("ip6"), enc.encode("arpa")];
}

/** sameName compares two names as DNS does: ASCII letters without regard to case. */
export function sameName(a: Name, b: Name): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) if (lower(x[j]!) !== lower(y[j]!)) return false;
  }
  return true;
}

const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);

/** SPECIAL are the characters dig escapes with a backslash in a name (BIND's dns_name_totext). */
const SPECIAL = new Set([0x22, 0x28, 0x29, 0x2e, 0x3b, 0x5c, 0x40, 0x24]);

/** nameText prints a name as dig does: labels escaped (\. \" \DDD), a trailing dot, "." for the root. */
export function nameText(name: Name): string {
  if (name.length === 0) return ".";
  let out = "";
  for (const label of name) {
    for (const c of label) {
      if (SPECIAL.has(c)) out += `\\${String.fromCharCode(c)}`;
      else if (c <= 0x20 || c >= 0x7f) out += `\\${String(c).padStart(3, "0")}`;
      else out += String.fromCharCode(c);
    }
    out += ".";
  }
  return out;
}

/** encodeQuery builds a standard query (opcode QUERY, RD set, class IN) for one question. */
export function encodeQuery(id: number, name: Name, type: number): Uint8Array {
  const size = HEADER_SIZE + name.reduce((n, l) => n + l.length + 1, 1) + 4;
  if (size - HEADER_SIZE - 4 > MAX_NAME) throw new DnsWireError(`the name is longer than ${MAX_NAME} octets`);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint16(0, id & 0xffff);
  view.setUint16(2, 0x0100); // RD
  view.setUint16(4, 1);
  let at = HEADER_SIZE;
  for (const label of name) {
    if (label.length === 0 || label.length > MAX_LABEL) throw new DnsWireError("a label must be 1 to 63 octets");
    out[at++] = label.length;
    out.set(label, at);
    at += label.length;
  }
  out[at++] = 0;
  view.setUint16(at, type);
  view.setUint16(at + 2, CLASS_IN);
  return out;
}

/** Header is a message's fixed header. */
export interface Header {
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly aa: boolean;
  readonly tc: boolean;
  readonly rd: boolean;
  readonly ra: boolean;
  readonly rcode: number;
  readonly qdcount: number;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
}

/** readHeader reads the fixed header; it throws DnsWireError for fewer than 12 bytes. */
export function readHeader(msg: Uint8Array): Header {
  if (msg.length < HEADER_SIZE) throw new DnsWireError(`${msg.length} bytes, shorter than a DNS header`);
  const u16 = (at: number) => (msg[at]! << 8) | msg[at + 1]!;
  const flags = u16(2);
  return {
    id: u16(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 15,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 15,
    qdcount: u16(4),
    ancount: u16(6),
    nscount: u16(8),
    arcount: u16(10),
  };
}

/** Question is one entry of a message's question section. */
export interface Question {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
}

/** ResourceRecord is one answer record, its data read and printed in presentation form. */
export interface ResourceRecord {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  /** data is the rdata as dig prints it. */
  readonly data: string;
}

/** Message is a reply's header, questions and answer section (authority and additional are not read). */
export interface Message {
  readonly header: Header;
  readonly questions: readonly Question[];
  readonly answers: readonly ResourceRecord[];
}

/** readName reads a possibly compressed name at `at`; `end` is the offset just past it where it was written. */
export function readName(msg: Uint8Array, at: number): { name: Name; end: number } {
  const labels: Uint8Array[] = [];
  let pos = at;
  let end = -1;
  // Every pointer must go strictly backwards from the last place jumped to: no loop can form, and every jump shrinks
  // what is left to read.
  let floor = at;
  let wire = 1;
  for (;;) {
    if (pos >= msg.length) throw new DnsWireError(`a name at offset ${at} runs past the end of the message`);
    const len = msg[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      return { name: labels, end };
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= msg.length) throw new DnsWireError(`a compression pointer at offset ${pos} is cut off`);
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      if (end < 0) end = pos + 2;
      if (target >= floor)
        throw new DnsWireError(`a compression pointer at offset ${pos} does not point backwards (a loop)`);
      floor = target;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new DnsWireError(`an unknown label type 0x${kind.toString(16)} at offset ${pos}`);
    if (pos + 1 + len > msg.length) throw new DnsWireError(`a label at offset ${pos} runs past the end of the message`);
    wire += len + 1;
    if (wire > MAX_NAME) throw new DnsWireError(`a name at offset ${at} is longer than ${MAX_NAME} octets`);
    labels.push(msg.subarray(pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
}

/** readQuestions reads the question section; it returns the questions and the offset after them. */
export function readQuestions(msg: Uint8Array, header = readHeader(msg)): { questions: Question[]; end: number } {
  const questions: Question[] = [];
  let at = HEADER_SIZE;
  for (let i = 0; i < header.qdcount; i++) {
    const { name, end } = readName(msg, at);
    if (end + 4 > msg.length) throw new DnsWireError("the question section is cut off");
    questions.push({ name, type: (msg[end]! << 8) | msg[end + 1]!, class: (msg[end + 2]! << 8) | msg[end + 3]! });
    at = end + 4;
  }
  return { questions, end: at };
}

/** decodeMessage reads a reply: header, questions and answers, every length checked; it throws DnsWireError. */
export function decodeMessage(msg: Uint8Array): Message {
  const header = readHeader(msg);
  const { questions, end } = readQuestions(msg, header);
  const answers: ResourceRecord[] = [];
  let at = end;
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  for (let i = 0; i < header.ancount; i++) {
    const { name, end: fixed } = readName(msg, at);
    if (fixed + 10 > msg.length) throw new DnsWireError(`answer ${i + 1} is cut off`);
    const type = view.getUint16(fixed);
    const cls = view.getUint16(fixed + 2);
    const ttl = view.getUint32(fixed + 4);
    const length = view.getUint16(fixed + 8);
    const start = fixed + 10;
    if (start + length > msg.length)
      throw new DnsWireError(`the data of answer ${i + 1} runs past the end of the message`);
    answers.push({ name, type, class: cls, ttl, data: rdataText(msg, type, start, length) });
    at = start + length;
  }
  return { header, questions, answers };
}

/** rdataText prints one record's data as dig does; the data must fill its length exactly. */
function rdataText(msg: Uint8Array, type: number, start: number, length: number): string {
  const stop = start + length;
  const data = msg.subarray(start, stop);
  const u16 = (at: number) => (msg[at]! << 8) | msg[at + 1]!;
  const exactly = (n: number) => {
    if (length !== n) throw new DnsWireError(`${typeName(type)} data of ${length} bytes (wanted ${n})`);
  };
  const nameAt = (at: number): { text: string; end: number } => {
    if (at >= stop) throw new DnsWireError(`${typeName(type)} data is cut off`);
    const { name, end } = readName(msg, at);
    if (end > stop) throw new DnsWireError(`a name in ${typeName(type)} data runs past its length`);
    return { text: nameText(name), end };
  };
  const nameOnly = (at: number, before: string) => {
    const { text, end } = nameAt(at);
    if (end !== stop) throw new DnsWireError(`${typeName(type)} data has ${stop - end} bytes after its name`);
    return before + text;
  };
  switch (type) {
    case TYPES.A:
      exactly(4);
      return [...data].join(".");
    case TYPES.AAAA:
      exactly(16);
      return ipv6Text(data);
    case TYPES.NS:
    case TYPES.CNAME:
    case TYPES.PTR:
      return nameOnly(start, "");
    case TYPES.MX:
      if (length < 3) throw new DnsWireError("MX data is cut off");
      return nameOnly(start + 2, `${u16(start)} `);
    case TYPES.SRV:
      if (length < 7) throw new DnsWireError("SRV data is cut off");
      return nameOnly(start + 6, `${u16(start)} ${u16(start + 2)} ${u16(start + 4)} `);
    case TYPES.TXT: {
      const parts: string[] = [];
      let at = start;
      while (at < stop) {
        const n = msg[at]!;
        if (at + 1 + n > stop) throw new DnsWireError("a TXT string runs past its record");
        parts.push(txtString(msg.subarray(at + 1, at + 1 + n)));
        at += 1 + n;
      }
      return parts.length === 0 ? '""' : parts.join(" ");
    }
    default:
      // RFC 3597's generic form, as dig prints a type it does not know.
      return length === 0 ? "\\# 0" : `\\# ${length} ${Buffer.from(data).toString("hex").toUpperCase()}`;
  }
}

/** txtString quotes one character-string as dig does: \" and \\ escaped, other non-printables as \DDD. */
export function txtString(bytes: Uint8Array): string {
  let out = '"';
  for (const c of bytes) {
    if (c === 0x22 || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
    else if (c < 0x20 || c >= 0x7f) out += `\\${String(c).padStart(3, "0")}`;
    else out += String.fromCharCode(c);
  }
  return `${out}"`;
}

/** ipv6Text prints 16 bytes as BIND's inet_ntop does: RFC 5952 zero compression, ::ffff:a.b.c.d and ::a.b.c.d. */
export function ipv6Text(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      cur = cur.base === -1 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = { ...cur };
    } else cur = { base: -1, len: 0 };
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
      out += [...b.subarray(12)].join(".");
      break;
    }
    out += words[i]!.toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ":";
  return out;
}

/** recordLine prints one answer record as `dig +noall +answer` does; without a TTL, as `dig +nottlid` does. */
export function recordLine(owner: string, ttl: number | undefined, cls: number, type: string, data: string): string {
  const columns = ttl === undefined ? [24, 32, 40] : [24, 32, 40, 48];
  const fields = [ttl === undefined ? undefined : String(ttl), cls === CLASS_IN ? "IN" : `CLASS${cls}`, type, data];
  const shown = fields.filter((f): f is string => f !== undefined);
  let line = owner;
  let column = owner.length;
  shown.forEach((field, i) => {
    const pad = indent(column, columns[i]!);
    line += pad.text + field;
    column = pad.column + field.length;
  });
  return line;
}

/** indent is BIND's masterdump indent(): tabs (8 wide) to the column, at least one space or tab past the text. */
function indent(from: number, column: number): { text: string; column: number } {
  const to = Math.max(column, from + 1);
  const tabs = Math.floor(to / 8) - Math.floor(from / 8);
  const start = tabs > 0 ? Math.floor(to / 8) * 8 : from;
  return { text: "\t".repeat(Math.max(tabs, 0)) + " ".repeat(to - start), column: to };
}
