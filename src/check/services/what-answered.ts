// Names what answered when a service URL reached the wrong service: from the first bytes it sent, or, when it stayed
// silent, from what it says to an HTTP request on a second connection.
import { quote } from "../../text/shown.ts";
import { dialStream, type StreamConn } from "../../transport/stream-conn.ts";
import { readAnswer } from "./pg-wire.ts";
import type { ServiceContext } from "./service.ts";

const decoder = new TextDecoder();

/** HTTP_POKE is what a silent port is asked: line-based servers (HTTP, redis, SMTP...) all answer it. */
export const HTTP_POKE = new TextEncoder().encode("HEAD / HTTP/1.0\r\n\r\n");

/** whatAnswered names a service from the first bytes it sent: `an SSH server answered "SSH-2.0-...", not redis`. */
export function whatAnswered(heard: Uint8Array, expected: string): string {
  const text = decoder.decode(heard.subarray(0, 512));
  const first = text.split("\n", 1)[0]!.replace(/\r$/, "");
  const kind = recognise(heard, text);
  if (heard.length === 0) return `something that is not ${expected} answered`;
  if (kind) return `${kind} answered ${quote(first)}, not ${expected}`;
  if (/^[\t\r\n\x20-\x7e]*$/.test(text)) return `something that is not ${expected} answered ${quote(first)}`;
  const hex = [...heard.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  return `something that is not ${expected} sent ${heard.length} bytes (${hex}${heard.length > 8 ? " ..." : ""})`;
}

function recognise(heard: Uint8Array, text: string): string | undefined {
  // An HTTP server that could not read the request line may answer as HTTP/0.9 does: the page alone.
  if (/^HTTP\/\d/.test(text) || /^<(!doctype|html)/i.test(text)) return "an HTTP server";
  if (/^SSH-\d/.test(text)) return "an SSH server";
  if (/^220[ -]/.test(text)) return "an SMTP (or FTP) server";
  if (/^\* OK/.test(text)) return "an IMAP server";
  if (/^\+OK/.test(text)) return "a POP3 server (or redis)";
  if (/^[-+][A-Za-z]/.test(text) && text.includes("\r\n")) return "a redis server";
  if (/^(VERSION \d|ERROR\r?$|CLIENT_ERROR|SERVER_ERROR)/m.test(text.split("\n", 1)[0]!)) return "a memcached server";
  if (text.startsWith("AMQP")) return "an AMQP server";
  // A MySQL greeting: a 3-byte length, sequence 0, protocol 10 (or an error packet, 0xff).
  if (heard.length > 5 && heard[3] === 0 && (heard[4] === 10 || heard[4] === 0xff)) return "a MySQL server";
  if ((heard[0] === 0x52 || heard[0] === 0x45) && readAnswer(heard).kind !== "foreign") return "a PostgreSQL server";
  return undefined;
}

/**
 * askWhatListens asks a port that stayed silent to a service's first message what it is, on a new connection, with
 * an HTTP request (redis buffers a binary message without end, waiting for a line); the first bytes it says, or
 * undefined when it stays silent too.
 */
export async function askWhatListens(ctx: ServiceContext, timeoutMs: number): Promise<Uint8Array | undefined> {
  let conn: StreamConn | undefined;
  try {
    conn = await dialStream(ctx.address, ctx.port, { timeoutMs });
    await conn.write(HTTP_POKE);
    const chunk = await conn.read(timeoutMs);
    return chunk?.length ? chunk : undefined;
  } catch {
    return undefined;
  } finally {
    conn?.close();
  }
}

/** pokeLead is how long before the try's deadline a silent port is asked what it is: up to a second to answer. */
export function pokeLead(timeoutMs: number): number {
  return Math.min(timeoutMs * 0.2, 1000);
}
