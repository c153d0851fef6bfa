// The AMQP 0-9-1 check (RabbitMQ): the protocol header, then Connection.Start, which names the server's product and
// version. With credentials, a full open and close as a client makes one: Start-Ok (PLAIN), Tune-Ok, Connection.Open
// of the vhost, Connection.Close; a refused login is auth_failed with the server's words.
import { quote } from "../../text/shown.ts";
import { type Conversation, converse, Ended, opened, type Verdict, verdict } from "./conversation.ts";
import type { ServiceProbe } from "./service.ts";

const HEADER = Uint8Array.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
const FRAME_END = 0xce;
const METHOD = 1;
const HEARTBEAT = 8;
/** MAX_FRAME bounds a frame before the first Tune: the spec's minimum frame-max is 4096; RabbitMQ's Start is ~600. */
const MAX_FRAME = 131_072;

/** Method is one method frame read: its class and method ids and its arguments. */
interface Method {
  readonly classId: number;
  readonly methodId: number;
  readonly args: Reader;
}

export const probeAmqp: ServiceProbe = (ctx) =>
  converse(ctx, "AMQP", async (c) => {
    c.send(HEADER);
    const start = await method(c, "Connection.Start");
    if (start.classId !== 10 || start.methodId !== 10) return unexpected(c, start, "Connection.Start");
    const major = start.args.octet();
    const minor = start.args.octet();
    const props = start.args.table();
    const mechanisms = start.args.longstr().toString().split(" ");
    const server = [props.product, props.version].filter((p) => typeof p === "string").join(" ") || "an AMQP server";
    const said = `${server} (AMQP ${major}-${minor})`;
    const { user, path } = ctx.endpoint;
    if (user === undefined && ctx.password === undefined) return opened(said);
    if (!mechanisms.includes("PLAIN"))
      return verdict("error", "other", `the server offers ${quote(mechanisms.join(" "))}, not PLAIN`, said);
    const login = user ?? "guest";
    c.send(
      frame(
        10,
        11,
        new Writer()
          .table({ product: "upcat", capabilities: { authentication_failure_close: true } })
          .shortstr("PLAIN")
          .longstr(`\0${login}\0${ctx.password ?? ""}`)
          .shortstr("en_US")
          .bytes(),
      ),
    );
    let tune: Method;
    try {
      tune = await method(c, "Connection.Tune");
    } catch (err) {
      // A server without authentication_failure_close closes the socket on a refused login, as the spec says.
      if (err instanceof Ended && err.how === "closed")
        return verdict("error", "auth_failed", `the server closed the connection after the login of ${quote(login)}`);
      throw err;
    }
    if (isClose(tune)) return closed(c, tune, said);
    if (tune.classId !== 10 || tune.methodId !== 30) return unexpected(c, tune, "Connection.Tune");
    const channelMax = tune.args.short();
    const frameMax = tune.args.long();
    c.send(frame(10, 31, new Writer().short(channelMax).long(frameMax).short(0).bytes()));
    const vhost = path === "" ? "/" : path;
    c.send(frame(10, 40, new Writer().shortstr(vhost).shortstr("").octet(0).bytes()));
    const openOk = await method(c, "Connection.Open-Ok");
    if (isClose(openOk)) return closed(c, openOk, said);
    if (openOk.classId !== 10 || openOk.methodId !== 41) return unexpected(c, openOk, "Connection.Open-Ok");
    // Goodbye as a client says it: Connection.Close, and wait for Close-Ok.
    c.send(frame(10, 50, new Writer().short(200).shortstr("upcat check").short(0).short(0).bytes()));
    await method(c, "Connection.Close-Ok").catch(() => undefined);
    return opened(`${said}, vhost ${vhost} opened`);
  });

const isClose = (m: Method) => m.classId === 10 && m.methodId === 50;

/** closed reads the server's Connection.Close, answers Close-Ok, and grades its reply code. */
function closed(c: Conversation, m: Method, said: string): Verdict {
  const code = m.args.short();
  const text = m.args.shortstr();
  c.send(frame(10, 51, new Uint8Array(0)));
  const words = `${code} ${text}`;
  // 403 ACCESS_REFUSED: a refused login, or a user with no access to the vhost.
  if (code === 403) return verdict("error", "auth_failed", words, said);
  // 320 CONNECTION_FORCED: the broker is shutting down, 541 INTERNAL_ERROR: it cannot take connections now.
  if (code === 320 || code === 541 || code === 506) return verdict("not_ready", "not_ready", words, said);
  return verdict("error", "other", words, said);
}

function unexpected(c: Conversation, m: Method, wanted: string): Verdict {
  return verdict("error", "other", `the server sent method ${m.classId}.${m.methodId}, not ${wanted}`, c.heard);
}

/** method reads frames up to the next method frame (heartbeats skipped); anything that is no AMQP frame is no AMQP. */
async function method(c: Conversation, what: string): Promise<Method> {
  for (;;) {
    const f = await c.frame(what, (buf) => frameLength(c, buf));
    if (f[0] === 0x41) {
      // Our version is not the server's: it answered with its own protocol header and closes.
      const theirs = `${f[5]}-${f[6]}-${f[7]}`;
      c.end(
        verdict("mismatch", "wrong_service", `an AMQP server that does not speak 0-9-1 answered (it speaks ${theirs})`),
      );
    }
    if (f[0] === HEARTBEAT) continue;
    if (f[0] !== METHOD) continue;
    const args = new Reader(f.subarray(7, f.length - 1));
    try {
      const classId = args.short();
      const methodId = args.short();
      return { classId, methodId, args };
    } catch {
      c.end(verdict("mismatch", "wrong_service", c.answered()));
    }
  }
}

/** frameLength is the length of the frame at the front of buf, 0 while it is incomplete; it ends on no AMQP. */
function frameLength(c: Conversation, buf: Uint8Array): number {
  if (buf[0] === 0x41) {
    if (buf.length < 8) return 0;
    if (buf[1] === 0x4d && buf[2] === 0x51 && buf[3] === 0x50) return 8;
    c.end(verdict("mismatch", "wrong_service", c.answered()));
  }
  if (buf[0] !== METHOD && buf[0] !== 2 && buf[0] !== 3 && buf[0] !== HEARTBEAT)
    c.end(verdict("mismatch", "wrong_service", c.answered()));
  if (buf.length < 7) return 0;
  const size = new DataView(buf.buffer, buf.byteOffset, buf.length).getUint32(3);
  if (size > MAX_FRAME) c.end(verdict("mismatch", "wrong_service", c.answered()));
  if (buf.length < size + 8) return 0;
  if (buf[size + 7] !== FRAME_END) c.end(verdict("mismatch", "wrong_service", c.answered()));
  return size + 8;
}

/** frame builds a method frame on channel 0. */
function frame(classId: number, methodId: number, args: Uint8Array): Uint8Array {
  const payload = new Writer().short(classId).short(methodId).raw(args).bytes();
  return new Writer().octet(METHOD).short(0).long(payload.length).raw(payload).octet(FRAME_END).bytes();
}

type FieldValue = string | number | boolean | bigint | null | FieldValue[] | { [name: string]: FieldValue };

/** Reader reads AMQP's big-endian fields; reading past the end throws (a RangeError). */
class Reader {
  private at = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  }
  octet(): number {
    return this.view.getUint8(this.at++);
  }
  short(): number {
    const v = this.view.getUint16(this.at);
    this.at += 2;
    return v;
  }
  long(): number {
    const v = this.view.getUint32(this.at);
    this.at += 4;
    return v;
  }
  private take(n: number): Uint8Array {
    if (this.at + n > this.buf.length) throw new RangeError("short frame");
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  shortstr(): string {
    return new TextDecoder().decode(this.take(this.octet()));
  }
  longstr(): Buffer {
    return Buffer.from(this.take(this.long()));
  }
  table(): Record<string, FieldValue> {
    const inner = new Reader(this.take(this.long()));
    const out: Record<string, FieldValue> = {};
    while (inner.at < inner.buf.length) {
      const name = inner.shortstr();
      out[name] = inner.value();
    }
    return out;
  }
  private value(): FieldValue {
    const type = String.fromCharCode(this.octet());
    const v = this.view;
    const fixed = (n: number, read: (at: number) => FieldValue) => {
      const r = read(this.at);
      this.take(n);
      return r;
    };
    switch (type) {
      case "t":
        return this.octet() !== 0;
      case "b":
        return fixed(1, (a) => v.getInt8(a));
      case "B":
        return this.octet();
      case "s":
        return fixed(2, (a) => v.getInt16(a));
      case "u":
        return this.short();
      case "I":
        return fixed(4, (a) => v.getInt32(a));
      case "i":
        return this.long();
      case "l":
        return fixed(8, (a) => v.getBigInt64(a));
      case "L":
      case "T":
        return fixed(8, (a) => v.getBigUint64(a));
      case "f":
        return fixed(4, (a) => v.getFloat32(a));
      case "d":
        return fixed(8, (a) => v.getFloat64(a));
      case "D":
        return fixed(5, () => null);
      case "S":
        return this.longstr().toString();
      case "x":
        return this.longstr().toString("hex");
      case "A": {
        const inner = new Reader(this.take(this.long()));
        const out: FieldValue[] = [];
        while (inner.at < inner.buf.length) out.push(inner.value());
        return out;
      }
      case "F":
        return this.table();
      case "V":
        return null;
      default:
        throw new RangeError(`unknown field type ${quote(type)}`);
    }
  }
}

/** Writer builds AMQP's big-endian fields. */
class Writer {
  private readonly parts: number[] = [];
  octet(n: number): this {
    this.parts.push(n & 0xff);
    return this;
  }
  short(n: number): this {
    return this.octet(n >> 8).octet(n);
  }
  long(n: number): this {
    return this.short(n >>> 16).short(n & 0xffff);
  }
  raw(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  shortstr(s: string): this {
    const b = new TextEncoder().encode(s).subarray(0, 255);
    return this.octet(b.length).raw(b);
  }
  longstr(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.long(b.length).raw(b);
  }
  table(t: Record<string, string | boolean | Record<string, boolean>>): this {
    const inner = new Writer();
    for (const [name, value] of Object.entries(t)) {
      inner.shortstr(name);
      if (typeof value === "string") inner.octet(0x53).longstr(value);
      else if (typeof value === "boolean") inner.octet(0x74).octet(value ? 1 : 0);
      else inner.octet(0x46).table(value);
    }
    const body = inner.bytes();
    return this.long(body.length).raw(body);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}
