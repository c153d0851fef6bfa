// The dns check (issue 27): one question to one DNS server over UDP (TCP when the reply is truncated), or to the
// system's resolver when the URL names no server, graded by the reply's RCODE and answer as dig reports them.
//
// The reply is the answer section as `dig +noall +answer` prints it, one record a line (owner with its trailing dot,
// TTL, IN, type, data, in dig's tab columns), so --expect and --match read what dig shows. Without a server in the
// URL the system's servers (/etc/resolv.conf, as node:dns reads it) are asked the same way, as dig without @server.
//
// Verdicts: NOERROR with a record of the asked type → open. NOERROR without one (dig's "NOERROR, ANSWER: 0", or only
// a CNAME for an A question to a non-recursive server) → mismatch, "no A record for NAME": wait4x fails it too, and
// a check asks for the name to resolve. NXDOMAIN → error, cause nxdomain ("no such name"), which --down passes on;
// SERVFAIL → servfail; REFUSED → dns_refused. Replies with a wrong ID, question or source address are ignored, as a
// stub resolver ignores them (RFC 5452); if only such datagrams came, the try ends in mismatch / wrong_service.
import { Resolver } from "node:dns";
import { NetError } from "../../errors.ts";
import { hostPort } from "../../transport/address.ts";
import { anyAddressFor, type UdpServerSocket } from "../../transport/bun-socket.ts";
import { type Deadline, deadlineIn, timeLimit } from "../../transport/time-limit.ts";
import type { Cause, CheckState, Outcome } from "../result.ts";
import { type DnsQuestion, dnsQuestion, ipBytes } from "./dns-query.ts";
import {
  decodeMessage,
  DnsWireError,
  encodeQuery,
  HEADER_SIZE,
  type Message,
  nameText,
  RCODES,
  readHeader,
  readQuestions,
  recordLine,
  sameName,
  typeName,
} from "./dns-wire.ts";
import type { ServiceContext, ServiceProbe } from "./service.ts";

export const probeDns: ServiceProbe = async (ctx) => {
  const started = performance.now();
  let question: DnsQuestion;
  try {
    question = dnsQuestion(ctx.endpoint.path, ctx.endpoint.params);
  } catch (err) {
    return { state: "error", cause: "other", address: ctx.address, latencyMs: 0, error: (err as Error).message };
  }
  if (ctx.address === "") return askSystemServers(question, ctx, systemServers());
  return askServer(question, ctx, started, deadlineIn(ctx.timeoutMs));
};

/** Exchanged is what one transport brought back: a reply that answers our question, or why there is none. */
type Exchanged =
  | { readonly kind: "reply"; readonly message: Message; readonly bytes: Uint8Array }
  | { readonly kind: "failed"; readonly state: CheckState; readonly cause: Cause; readonly error: string };

/** askServer asks ctx's server, over UDP and then TCP if the reply was truncated, until `deadline`. */
async function askServer(q: DnsQuestion, ctx: ServiceContext, started: number, deadline: Deadline): Promise<Outcome> {
  const id = crypto.getRandomValues(new Uint16Array(1))[0]!;
  const query = encodeQuery(id, q.name, q.code);
  let got = await udpExchange(ctx.address, ctx.port, query, id, q, deadline);
  let via = "udp";
  if (got.kind === "reply" && got.message.header.tc) {
    via = "tcp";
    got = await tcpExchange(ctx.address, ctx.port, query, id, q, deadline);
    if (got.kind === "failed")
      got = {
        ...got,
        state: got.state === "closed" ? "error" : got.state,
        error: `truncated over UDP; TCP: ${got.error}`,
      };
  }
  const latencyMs = performance.now() - started;
  if (got.kind === "failed")
    return { state: got.state, cause: got.cause, address: ctx.address, latencyMs, error: got.error };
  const { header, answers } = got.message;
  const lines = answers.map((r) => recordLine(nameText(r.name), r.ttl, r.class, typeName(r.type), r.data));
  return grade(
    q,
    header.rcode,
    answers.some((r) => r.type === q.code),
    lines,
    ctx.address,
    latencyMs,
    via,
  );
}

/** grade turns an RCODE and an answer into an outcome; `lines` become the reply. */
function grade(
  q: DnsQuestion,
  rcode: number,
  answered: boolean,
  lines: readonly string[],
  address: string,
  latencyMs: number,
  via?: string,
): Outcome {
  const reply = new TextEncoder().encode(lines.map((l) => `${l}\n`).join(""));
  const base = { address, latencyMs };
  const code = RCODES[rcode] ?? `RCODE ${rcode}`;
  switch (rcode) {
    case 0:
      if (answered) return { ...base, state: "open", reply };
      return {
        ...base,
        state: "mismatch",
        cause: "mismatch",
        reply,
        error:
          `no ${q.type} record for ${q.text} (NOERROR, ` +
          `${lines.length === 0 ? "empty answer" : `the answer holds ${others(lines.length)}`})`,
      };
    case 3:
      return { ...base, state: "error", cause: "nxdomain", error: `no such name: ${q.text} (NXDOMAIN)` };
    case 2:
      return {
        ...base,
        state: "error",
        cause: "servfail",
        error: `the server failed to answer for ${q.text} (SERVFAIL)`,
      };
    case 5:
      return {
        ...base,
        state: "error",
        cause: "dns_refused",
        error: `the server refused the query for ${q.text} (REFUSED)`,
      };
    default:
      return {
        ...base,
        state: "error",
        cause: "other",
        error: `the server answered ${code}${via ? ` over ${via}` : ""}`,
      };
  }
}

/**
 * accept reads a datagram or TCP message as the reply to our query. It returns the message, or why it is not ours:
 * `ignore` for one that is not an answer to this query (wrong ID, question, not a response), `bad` for a reply to
 * this query that cannot be read.
 */
function accept(
  bytes: Uint8Array,
  id: number,
  q: DnsQuestion,
): { message: Message } | { ignore: string } | { bad: string } {
  let header: ReturnType<typeof readHeader>;
  try {
    header = readHeader(bytes);
  } catch (err) {
    return { ignore: (err as Error).message };
  }
  if (header.id !== id) return { ignore: `ID ${header.id}, not ${id}` };
  if (!header.qr) return { ignore: "not a response (QR clear): the query came back as sent" };
  if (header.opcode !== 0) return { ignore: `opcode ${header.opcode}, not QUERY` };
  try {
    const { questions } = readQuestions(bytes, header);
    // A server may leave the question out of an error (FORMERR, NOTIMP, REFUSED); an answer must carry ours.
    const ours =
      questions.length === 1 &&
      sameName(questions[0]!.name, q.name) &&
      questions[0]!.type === q.code &&
      questions[0]!.class === 1;
    if (!(ours || (questions.length === 0 && header.rcode !== 0 && header.rcode !== 3)))
      return { ignore: "it answers a different question" };
    if (header.tc) return { message: { header, questions, answers: [] } };
    return { message: decodeMessage(bytes) };
  } catch (err) {
    if (err instanceof DnsWireError) return { bad: `malformed DNS reply: ${err.message}` };
    throw err;
  }
}

/** udpExchange sends the query once and waits until `deadline` for a datagram from the server that answers it. */
function udpExchange(
  address: string,
  port: number,
  query: Uint8Array,
  id: number,
  q: DnsQuestion,
  deadline: Deadline,
): Promise<Exchanged> {
  const where = hostPort(address, port);
  const server = ipBytes(address);
  let ignored = 0;
  let why = "";
  let strangers = 0;
  return new Promise<Exchanged>((resolve) => {
    let socket: UdpServerSocket | undefined;
    let done = false;
    const finish = (result: Exchanged) => {
      if (done) return;
      done = true;
      timer.clear();
      socket?.close();
      resolve(result);
    };
    const timer = timeLimit(
      () => {
        const stray =
          strangers > 0 ? `; ${strangers} datagram${strangers === 1 ? "" : "s"} from other addresses ignored` : "";
        if (ignored > 0)
          finish({
            kind: "failed",
            state: "mismatch",
            cause: "wrong_service",
            error: `no DNS answer from ${where}: ${ignored} reply${ignored === 1 ? "" : "s"} ignored (${why})${stray}`,
          });
        else
          finish({
            kind: "failed",
            state: "timeout",
            cause: "timeout",
            error: `no DNS reply from ${where} within the timeout${stray}`,
          });
      },
      Math.max(0, deadline.left()),
    );
    Bun.udpSocket({
      hostname: anyAddressFor(address),
      socket: {
        data(_sock, data, fromPort, fromAddress) {
          const from = ipBytes(fromAddress);
          if (fromPort !== port || !from || !server || !sameBytes(from, server)) {
            strangers++;
            return;
          }
          const bytes = new Uint8Array(data);
          if (sameBytes(bytes, query)) {
            finish({
              kind: "failed",
              state: "mismatch",
              cause: "wrong_service",
              error: `${where} echoed the query back: not a DNS server`,
            });
            return;
          }
          const read = accept(bytes, id, q);
          if ("message" in read) finish({ kind: "reply", message: read.message, bytes });
          else if ("bad" in read) finish({ kind: "failed", state: "mismatch", cause: "mismatch", error: read.bad });
          else {
            ignored++;
            why = read.ignore;
          }
        },
        error(err) {
          const failed = NetError.from("read", "udp", where, err);
          if (failed.code === "ECONNREFUSED")
            finish({
              kind: "failed",
              state: "closed",
              cause: "refused",
              error: `${where}: ${failed.reason} (no DNS server there)`,
            });
          else finish({ kind: "failed", state: "error", cause: "other", error: failed.message });
        },
      },
    }).then(
      (sock) => {
        socket = sock;
        if (done) return sock.close();
        try {
          if (!sock.send(query, port, address) && !done)
            finish({
              kind: "failed",
              state: "error",
              cause: "other",
              error: `send udp ${where}: the datagram was not sent`,
            });
        } catch (err) {
          const failed = NetError.from("send", "udp", where, err);
          const unreachable = failed.code === "ENETUNREACH" || failed.code === "EHOSTUNREACH";
          finish({
            kind: "failed",
            state: unreachable ? "unreachable" : "error",
            cause: unreachable ? "unreachable" : "other",
            error: failed.message,
          });
        }
      },
      (err) =>
        finish({
          kind: "failed",
          state: "error",
          cause: "other",
          error: NetError.from("bind", "udp", where, err).message,
        }),
    );
  });
}

/** tcpExchange asks again over TCP (RFC 7766: two length bytes before each message) until `deadline`. */
function tcpExchange(
  address: string,
  port: number,
  query: Uint8Array,
  id: number,
  q: DnsQuestion,
  deadline: Deadline,
): Promise<Exchanged> {
  const where = hostPort(address, port);
  const framed = new Uint8Array(query.length + 2);
  framed[0] = query.length >> 8;
  framed[1] = query.length & 255;
  framed.set(query, 2);
  return new Promise<Exchanged>((resolve) => {
    let buffer = new Uint8Array(0);
    let unsent = framed;
    // write sends what is left of the query: under backpressure the rest goes on drain.
    const write = (sock: { write(b: Uint8Array): number }) => {
      if (unsent.length === 0) return;
      const n = sock.write(unsent);
      if (n > 0) unsent = unsent.subarray(n);
    };
    let socket: { end(): void } | undefined;
    let done = false;
    const finish = (result: Exchanged) => {
      if (done) return;
      done = true;
      timer.clear();
      socket?.end();
      resolve(result);
    };
    const timer = timeLimit(
      () =>
        finish({
          kind: "failed",
          state: "timeout",
          cause: "timeout",
          error: `no DNS reply over TCP from ${where} within the timeout`,
        }),
      Math.max(0, deadline.left()),
    );
    const closed = () =>
      finish({
        kind: "failed",
        state: "error",
        cause: buffer.length === 0 ? "no_data" : "reset",
        error: `${where} closed the TCP connection ${buffer.length === 0 ? "without a reply" : "mid-reply"}`,
      });
    Bun.connect({
      hostname: address,
      port,
      socket: {
        open(sock) {
          socket = sock;
          if (done) {
            sock.end();
            return;
          }
          write(sock);
        },
        drain: write,
        data(_sock, chunk) {
          const next = new Uint8Array(buffer.length + chunk.length);
          next.set(buffer);
          next.set(chunk, buffer.length);
          buffer = next;
          if (buffer.length < 2) return;
          const length = (buffer[0]! << 8) | buffer[1]!;
          if (buffer.length < 2 + length) return;
          const bytes = buffer.subarray(2, 2 + length);
          const read = length < HEADER_SIZE ? { ignore: `a ${length}-byte message` } : accept(bytes, id, q);
          if ("message" in read) {
            if (read.message.header.tc)
              finish({
                kind: "failed",
                state: "mismatch",
                cause: "mismatch",
                error: "the reply over TCP is truncated too",
              });
            else finish({ kind: "reply", message: read.message, bytes });
          } else if ("bad" in read) finish({ kind: "failed", state: "mismatch", cause: "mismatch", error: read.bad });
          // TCP carries no spoofed replies: what does not answer this query came from something else.
          else
            finish({
              kind: "failed",
              state: "mismatch",
              cause: "wrong_service",
              error: `no DNS answer over TCP from ${where}: ${read.ignore}`,
            });
        },
        end: closed,
        close: closed,
        error(_sock, err) {
          finish({
            kind: "failed",
            state: "error",
            cause: "reset",
            error: NetError.from("read", "tcp", where, err).message,
          });
        },
        connectError(_sock, err) {
          const failed = NetError.from("connect", "tcp", where, err);
          const refused = failed.code === "ECONNREFUSED";
          finish({
            kind: "failed",
            state: refused ? "closed" : "error",
            cause: refused ? "refused" : "other",
            error: failed.message,
          });
        },
      },
    }).catch((err) => {
      const failed = NetError.from("connect", "tcp", where, err);
      const refused = failed.code === "ECONNREFUSED";
      finish({
        kind: "failed",
        state: refused ? "closed" : "error",
        cause: refused ? "refused" : "other",
        error: failed.message,
      });
    });
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * systemServers are the DNS servers the system's resolver asks (node:dns reads /etc/resolv.conf, as c-ares and dig
 * do), as address and port.
 */
export function systemServers(): { address: string; port: number }[] {
  return new Resolver().getServers().flatMap((text) => {
    const m = /^\[(.+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
    const [address, port] = m ? [m[1]!, Number(m[2])] : [text, 53];
    return ipBytes(address) ? [{ address: address.replace(/%.*$/, ""), port }] : [];
  });
}

/**
 * askSystemServers asks the system's DNS servers in turn, as dig without @server does, while one refuses or is
 * unreachable. node:dns' resolve* cannot serve here: Bun 1.4.5 reports NOERROR-with-no-answer as ENOTFOUND, which would
 * read as NXDOMAIN (and pass --down for a name that exists).
 */
export async function askSystemServers(
  q: DnsQuestion,
  ctx: ServiceContext,
  servers: readonly { address: string; port: number }[],
): Promise<Outcome> {
  const deadline = deadlineIn(ctx.timeoutMs);
  let last: Outcome = {
    state: "error",
    cause: "other",
    address: "",
    latencyMs: 0,
    error: "the system has no DNS server (no nameserver in /etc/resolv.conf)",
  };
  for (const server of servers) {
    const left = deadline.left();
    if (left <= 0) break;
    last = await askServer(
      q,
      { ...ctx, address: server.address, port: server.port, timeoutMs: left },
      performance.now(),
      deadline,
    );
    if (last.state !== "closed" && last.state !== "unreachable") return last;
  }
  return last;
}

/** others counts the records of other types that came instead. */
function others(n: number): string {
  return `${n} other record${n === 1 ? "" : "s"}`;
}
