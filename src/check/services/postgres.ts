// The postgres check: without a user, pg_isready's grading of one startup exchange; with one, Bun's SQL client logs
// in and runs SELECT 1.
import { SQL } from "bun";
import { deadlineIn, type TimeLimit, timeLimit } from "../../transport/time-limit.ts";
import { dialStream } from "../../transport/stream-conn.ts";
import type { Cause, CheckState, Outcome } from "../result.ts";
import { stateOf } from "../state-of.ts";
import { sslRequest, type Wire } from "./pg-tls.ts";
import { concat } from "./conversation.ts";
import { NOT_READY, readAnswer, startupMessage, TERMINATE } from "./pg-wire.ts";
import { askWhatListens, pokeLead, whatAnswered } from "./what-answered.ts";
import type { ServiceContext, ServiceProbe } from "./service.ts";

const SSLMODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
const enc = new TextEncoder();

type Verdict = Omit<Outcome, "address" | "latencyMs">;
const failed = (state: CheckState, cause: Cause, error: string, reply?: string): Verdict => ({
  state,
  cause,
  error,
  ...(reply === undefined ? {} : { reply: enc.encode(reply) }),
});

/** codeOf is the errno-style code of a failure from either kind of connection. */
const codeOf = (err: unknown) => (err as { code?: string })?.code;
const reasonOf = (err: unknown) => (err as { reason?: string })?.reason ?? (err as Error)?.message ?? String(err);

export const probePostgres: ServiceProbe = async (ctx) => {
  const started = performance.now();
  const since = () => performance.now() - started;
  const at = (v: Verdict, latencyMs = since()): Outcome => ({ address: ctx.address, latencyMs, ...v });
  const sslmode = ctx.endpoint.params.sslmode ?? "disable";
  if (!SSLMODES.includes(sslmode))
    return at(failed("error", "other", `sslmode "${sslmode}" is not one of ${SSLMODES.join(", ")}`), 0);
  const ready = await startupExchange(ctx, sslmode);
  const latencyMs = since();
  if (ready.state !== "open" || ctx.endpoint.user === undefined) return at(ready, latencyMs);
  return at(await selectOne(ctx, sslmode, ctx.timeoutMs - latencyMs), latencyMs);
};

/**
 * startupExchange is pg_isready: a StartupMessage (over TLS when sslmode asks), and the first answer graded. An
 * authentication request, or any error but "cannot connect now" and "too many clients", is a server accepting
 * connections.
 */
async function startupExchange(ctx: ServiceContext, sslmode: string): Promise<Verdict> {
  const deadline = deadlineIn(ctx.timeoutMs);
  const left = () => Math.max(1, deadline.left());
  let wire: Wire;
  try {
    if (sslmode === "disable" || sslmode === "allow") {
      const conn = await dialStream(ctx.address, ctx.port, { timeoutMs: ctx.timeoutMs });
      wire = { write: (b) => conn.write(b), read: (ms) => conn.read(ms), close: () => conn.close() };
    } else {
      const ip = /^[\d.]+$|:/.test(ctx.host);
      const got = await sslRequest(
        ctx.address,
        ctx.port,
        {
          mode: sslmode,
          serverName: ip ? undefined : ctx.host,
          rootCert: ctx.endpoint.params.sslrootcert,
        },
        ctx.timeoutMs,
      );
      if (got.kind === "foreign") return wrongService(got.bytes);
      if (got.kind === "plain" && sslmode !== "prefer")
        return failed("error", "not_tls", `the server does not support SSL, but sslmode=${sslmode} asks for it`);
      if (got.kind === "tls" && !got.authorized && sslmode.startsWith("verify")) {
        got.wire.close();
        return failed("error", "cert_untrusted", `the server's certificate does not verify: ${got.authError}`);
      }
      wire = got.wire;
    }
  } catch (err) {
    return failed(...stateAndCause(err), reasonOf(err));
  }
  // A server that stays silent to a StartupMessage is asked, near the end, what it is (below).
  const lead = pokeLead(ctx.timeoutMs);
  let bytes: Uint8Array = new Uint8Array(0);
  try {
    await wire.write(startupMessage(ctx.endpoint.user ?? "upcat", ctx.endpoint.path));
    for (;;) {
      const answer = readAnswer(bytes);
      if (answer.kind === "foreign") return wrongService(bytes);
      if (answer.kind === "auth") {
        // Trusted: the session is up, and a polite client ends it with a Terminate.
        if (answer.code === 0) await wire.write(TERMINATE).catch(() => {});
        const how = answer.code === 0 ? "no password asked" : `${answer.method} authentication asked`;
        return { state: "open", reply: enc.encode(`accepting connections (${how})\n`) };
      }
      if (answer.kind === "error") {
        const words = `${answer.severity} ${answer.sqlstate}: ${answer.message}`;
        if (NOT_READY.has(answer.sqlstate)) return failed("not_ready", "not_ready", answer.message, `${words}\n`);
        return { state: "open", reply: enc.encode(`accepting connections (${words})\n`) };
      }
      let chunk: Uint8Array | null;
      try {
        chunk = await wire.read(Math.max(1, deadline.left() - (bytes.length ? 0 : lead)));
      } catch (err) {
        if (codeOf(err) !== "ETIMEDOUT" || bytes.length) throw err;
        wire.close();
        const said = await askWhatListens(ctx, left());
        return said ? wrongService(said) : failed("timeout", "timeout", `no answer: ${reasonOf(err)}`);
      }
      if (chunk === null) {
        if (bytes.length) return wrongService(bytes);
        return failed("error", "no_data", "the server closed the connection without answering");
      }
      bytes = concat(bytes, chunk);
    }
  } catch (err) {
    if (bytes.length && codeOf(err) === "ETIMEDOUT") return wrongService(bytes);
    return failed(...stateAndCause(err), reasonOf(err));
  } finally {
    // pg_isready's goodbye: while the backend waits for a password, a close, which it ends silently (a Terminate
    // there is logged as "expected SASL response, got message type 88").
    wire.close();
  }
}

function stateAndCause(err: unknown): [CheckState, Cause] {
  const { state, cause } = stateOf(codeOf(err), "exchange");
  return [state, cause ?? "other"];
}

function wrongService(bytes: Uint8Array): Verdict {
  return {
    state: "mismatch",
    cause: "wrong_service",
    error: whatAnswered(bytes, "postgres"),
    reply: new Uint8Array(bytes),
  };
}

/** AUTH_FAILED are the SQLSTATEs of refused credentials: invalid_password and invalid_authorization_specification. */
const AUTH_FAILED = new Set(["28P01", "28000"]);

/** selectOne logs in with Bun's SQL client and runs SELECT 1, within the try's time left. */
async function selectOne(ctx: ServiceContext, sslmode: string, timeoutMs: number): Promise<Verdict> {
  const sql = new SQL({
    adapter: "postgres",
    hostname: ctx.address,
    port: ctx.port,
    username: ctx.endpoint.user,
    password: ctx.password ?? "",
    database: ctx.endpoint.path || ctx.endpoint.user,
    max: 1,
    connectionTimeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
    tls: sslTls(ctx, sslmode),
  });
  let timer: TimeLimit | undefined;
  try {
    const late = new Promise<never>((_, reject) => {
      timer = timeLimit(
        () => reject(Object.assign(new Error(`timed out after ${Math.round(timeoutMs)}ms`), { code: "ETIMEDOUT" })),
        Math.max(1, timeoutMs),
      );
    });
    const rows = (await Promise.race([sql`SELECT 1 AS one`, late])) as { one: number }[];
    return { state: "open", reply: enc.encode(`SELECT 1: ${rows[0]?.one}\n`) };
  } catch (err) {
    return sqlFailure(err);
  } finally {
    timer?.clear();
    sql.close({ timeout: 0 }).catch(() => {});
  }
}

function sslTls(
  ctx: ServiceContext,
  sslmode: string,
): ConstructorParameters<typeof SQL>[0] extends infer O ? (O extends { tls?: infer T } ? T : never) : never {
  if (sslmode === "disable" || sslmode === "allow") return "disable";
  const root = ctx.endpoint.params.sslrootcert;
  if (root && sslmode.startsWith("verify"))
    return { ca: Bun.file(root), rejectUnauthorized: true, servername: ctx.host };
  if (sslmode === "verify-full") return { rejectUnauthorized: true, servername: ctx.host };
  return sslmode as "prefer" | "require" | "verify-ca";
}

/** sqlFailure grades an error of Bun's SQL client: the server's own words where it gave them. */
export function sqlFailure(err: unknown): Verdict {
  const e = err as { code?: string; errno?: string | number; message?: string };
  const message = e.message ?? String(err);
  const sqlstate = typeof e.errno === "string" ? e.errno : undefined;
  if (sqlstate && AUTH_FAILED.has(sqlstate))
    return failed("error", "auth_failed", message, `FATAL ${sqlstate}: ${message}\n`);
  if (sqlstate && NOT_READY.has(sqlstate))
    return failed("not_ready", "not_ready", message, `FATAL ${sqlstate}: ${message}\n`);
  if (sqlstate) return failed("error", "other", `${message} (${sqlstate})`, `ERROR ${sqlstate}: ${message}\n`);
  switch (e.code) {
    case "ETIMEDOUT":
    case "ERR_POSTGRES_CONNECTION_TIMEOUT":
      return failed("timeout", "timeout", message);
    case "ERR_POSTGRES_CONNECTION_REFUSED":
      return failed("closed", "refused", message);
    case "ERR_POSTGRES_TLS_NOT_AVAILABLE":
    case "ERR_POSTGRES_TLS_UPGRADE_FAILED":
      return failed("error", "not_tls", message);
  }
  return failed("error", "other", `${message}${e.code ? ` (${e.code})` : ""}`);
}
