// How check results read to jq: one stable object a target, the --json line (its schema is check-record.schema.json).
import type { CheckResult } from "../result.ts";
import { redact, redactIn } from "../../text/redact.ts";
import { protoOf, replyText, roundMs, targetText } from "./target.ts";

/**
 * Place is where a target stands in its run: index counts the run's targets from 0, in the order they were given and
 * are printed (the command line's, each range expanded, then --file's); file and line name a --file target's line.
 */
export interface Place {
  index: number;
  file?: string;
  line?: number;
}

/** replyFields are reply, the text, and reply_base64, the bytes, where the text had to escape them. */
function replyFields(reply: Uint8Array | undefined): { reply: string | null; reply_base64?: string } {
  if (reply === undefined) return { reply: null };
  const { text, exact } = replyText(reply);
  return exact ? { reply: text } : { reply: text, reply_base64: Buffer.from(reply).toString("base64") };
}

/** jsonRecord is one result as the stable object `--json` prints, with its place in the run. */
export function jsonRecord(r: CheckResult, place: Place) {
  return {
    target: targetText(r.target),
    proto: protoOf(r.target),
    host: r.target.host,
    address: r.address ?? null,
    port: r.target.port,
    state: r.state,
    ok: r.ok,
    latency_ms: roundMs(r.latencyMs),
    ...replyFields(r.reply),
    error: r.error === undefined ? null : redactIn(r.error),
    attempts: r.attempts,
    index: place.index,
    ...(place.file === undefined ? {} : { file: place.file, line: place.line }),
    ...(r.tls ? { tls: r.tls } : {}),
    ...(r.http ? { http: { ...r.http, location: r.http.location === null ? null : redact(r.http.location) } } : {}),
  };
}
