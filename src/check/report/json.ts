// How check results read to jq: one stable object a target, the --json line (its schema is check-record.schema.json).
import type { CheckResult } from "../result.ts";
import { redact, redactIn } from "../../text/redact.ts";
import { protoOf, roundMs, targetText } from "./target.ts";

function replyText(reply: Uint8Array | undefined): string | null {
  return reply === undefined ? null : new TextDecoder().decode(reply);
}

/** jsonRecord is one result as the stable object `--json` prints. */
export function jsonRecord(r: CheckResult) {
  return {
    target: targetText(r.target),
    proto: protoOf(r.target),
    host: r.target.host,
    address: r.address ?? null,
    port: r.target.port,
    state: r.state,
    ok: r.ok,
    latency_ms: roundMs(r.latencyMs),
    reply: replyText(r.reply),
    error: r.error === undefined ? null : redactIn(r.error),
    attempts: r.attempts,
    ...(r.tls ? { tls: r.tls } : {}),
    ...(r.http ? { http: { ...r.http, location: r.http.location === null ? null : redact(r.http.location) } } : {}),
  };
}
