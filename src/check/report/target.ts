// How every report names a target and rounds its time: one URL a target, wherever it is printed.
import type { CheckTarget } from "../result.ts";
import type { ServiceKind } from "../services/endpoint.ts";
import { redact } from "../../text/redact.ts";
import { hostPort } from "../../transport/address.ts";

/**
 * targetText is the TARGET as a URL, the form every line and record names it by: an HTTP target is its own URL, with
 * its password (if any) hidden. Every printer names targets through it.
 */
export function targetText(t: CheckTarget): string {
  if (t.service) return t.service.url;
  return t.http ? redact(t.http.url) : `${t.transport}://${hostPort(t.host, t.port)}`;
}

/** protoOf is what was checked: a TCP or UDP port, an HTTP(S) URL, or a service by its name (postgres, dns...). */
export function protoOf(t: CheckTarget): "tcp" | "udp" | "http" | "https" | ServiceKind {
  if (t.service) return t.service.kind;
  return t.http ? (t.http.secure ? "https" : "http") : t.transport;
}

/** roundMs keeps three decimals: microseconds are real on loopback, more is noise. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** ReplyText is a reply as a report shows it: exact when the text is the reply itself (it was UTF-8). */
export interface ReplyText {
  text: string;
  exact: boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * replyText is a reply as text, with nothing lost: the text itself when the bytes are UTF-8; otherwise their UTF-8
 * sequences as text, every other byte as \xNN and every backslash as \\, so that the escapes read one way (as --send
 * and --expect read them). Never U+FFFD for a byte that was not the UTF-8 of U+FFFD.
 */
export function replyText(bytes: Uint8Array): ReplyText {
  try {
    return { text: utf8.decode(bytes), exact: true };
  } catch {
    // Not UTF-8: escaped below.
  }
  let text = "";
  let run = 0;
  const flush = (end: number) => {
    if (end > run) text += utf8.decode(bytes.subarray(run, end));
  };
  for (let i = 0; i < bytes.length; ) {
    const n = bytes[i] === 0x5c ? 0 : sequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    flush(i);
    text += bytes[i] === 0x5c ? "\\\\" : `\\x${bytes[i]!.toString(16).padStart(2, "0")}`;
    run = ++i;
  }
  flush(bytes.length);
  return { text, exact: false };
}

/** sequenceLength is the length of the well-formed UTF-8 sequence at bytes[i] (RFC 3629's table), or 0 for none. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const lead = bytes[i]!;
  if (lead < 0x80) return 1;
  let n: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) n = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    n = 3;
    if (lead === 0xe0) low = 0xa0; // no overlong form
    if (lead === 0xed) high = 0x9f; // no surrogate
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    n = 4;
    if (lead === 0xf0) low = 0x90; // no overlong form
    if (lead === 0xf4) high = 0x8f; // nothing past U+10FFFF
  } else return 0;
  if (i + n > bytes.length) return 0;
  const second = bytes[i + 1]!;
  if (second < low || second > high) return 0;
  for (let k = 2; k < n; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return 0;
  return n;
}

/**
 * clipReply is at most max characters of a reply's text, cut between characters: never inside an escape of replyText
 * (\xNN, \\), never between the halves of a surrogate pair. clipped says whether anything was left out.
 */
export function clipReply(reply: ReplyText, max: number): { text: string; clipped: boolean } {
  if (reply.text.length <= max) return { text: reply.text, clipped: false };
  const text = reply.text;
  let end = 0;
  for (;;) {
    const code = text.charCodeAt(end);
    let size = code >= 0xd800 && code <= 0xdbff ? 2 : 1;
    if (!reply.exact && text[end] === "\\") size = text[end + 1] === "x" ? 4 : 2;
    if (end + size > max) break;
    end += size;
  }
  return { text: text.slice(0, end), clipped: true };
}
