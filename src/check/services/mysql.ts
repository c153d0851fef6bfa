// The mysql / mariadb check: the server's greeting graded as `mysqladmin ping` grades it, the exchange then finished
// as a polite client does (never an aborted connect against max_connect_errors); with a user, Bun's SQL client logs
// in and runs SELECT 1.
import { SQL } from "bun";
import { deadlineIn, type TimeLimit, timeLimit } from "../../transport/time-limit.ts";
import { dialStream, type StreamConn } from "../../transport/stream-conn.ts";
import type { Cause, CheckState, Outcome } from "../result.ts";
import { stateOf } from "../state-of.ts";
import { COM_QUIT, emptyAuth, loginPacket, readGreeting, readPacket } from "./mysql-wire.ts";
import { concat } from "./conversation.ts";
import { HTTP_POKE, pokeLead, whatAnswered } from "./what-answered.ts";
import type { ServiceContext, ServiceProbe } from "./service.ts";

const enc = new TextEncoder();

type Verdict = Omit<Outcome, "address" | "latencyMs">;
const failed = (state: CheckState, cause: Cause, error: string, reply?: string): Verdict => ({
  state,
  cause,
  error,
  ...(reply === undefined ? {} : { reply: enc.encode(reply) }),
});

const codeOf = (err: unknown) => (err as { code?: string })?.code;
const reasonOf = (err: unknown) => (err as { reason?: string })?.reason ?? (err as Error)?.message ?? String(err);

/** The user a check without one logs in as, with no password: "Access denied" is the answer it expects. */
const PROBE_USER = "upcat";

export const probeMysql: ServiceProbe = async (ctx) => {
  const started = performance.now();
  const greeted = await greeting(ctx);
  const latencyMs = performance.now() - started;
  const at = (v: Verdict): Outcome => ({ address: ctx.address, latencyMs, ...v });
  if (greeted.state !== "open" || ctx.endpoint.user === undefined) return at(greeted);
  return at(await selectOne(ctx, ctx.timeoutMs - latencyMs));
};

/** greeting reads the server's first packet and grades it; then it logs in as PROBE_USER and leaves. */
async function greeting(ctx: ServiceContext): Promise<Verdict> {
  const deadline = deadlineIn(ctx.timeoutMs);
  const left = () => Math.max(1, deadline.left());
  let conn: StreamConn;
  try {
    conn = await dialStream(ctx.address, ctx.port, { timeoutMs: ctx.timeoutMs });
  } catch (err) {
    return failed(...stateAndCause(err), reasonOf(err));
  }
  // A server that says nothing where a greeting should come is asked, near the end, what it is.
  const lead = pokeLead(ctx.timeoutMs);
  let poked = false;
  let bytes: Uint8Array = new Uint8Array(0);
  try {
    for (;;) {
      const g = readGreeting(bytes);
      if (g.kind === "foreign") return wrongService(bytes);
      if (g.kind === "error") {
        conn.close();
        return failed("not_ready", "not_ready", g.message, `ERROR ${g.code}: ${g.message}\n`);
      }
      if (g.kind === "handshake") {
        if (!poked) await goodbye(conn, g.capabilities, bytes, left);
        const version = g.version.replace(/^5\.5\.5-/, "");
        return { state: "open", reply: enc.encode(`${version}\n`) };
      }
      let chunk: Uint8Array | null;
      try {
        chunk = await conn.read(Math.max(1, deadline.left() - (poked ? 0 : lead)));
      } catch (err) {
        if (codeOf(err) !== "ETIMEDOUT" || poked || bytes.length) throw err;
        poked = true;
        await conn.write(HTTP_POKE).catch(() => {});
        continue;
      }
      if (chunk === null) {
        if (bytes.length) return wrongService(bytes);
        return failed("error", "no_data", "the server closed the connection without a greeting");
      }
      bytes = concat(bytes, chunk);
    }
  } catch (err) {
    if (bytes.length && codeOf(err) === "ETIMEDOUT") return wrongService(bytes);
    const [state, cause] = stateAndCause(err);
    return failed(state, cause, state === "timeout" ? `no greeting: ${reasonOf(err)}` : reasonOf(err));
  } finally {
    conn.close();
  }
}

/**
 * goodbye finishes a greeted connection as haproxy's mysql-check does: a login with no password, its answer read (an
 * auth switch answered with an empty password too), then COM_QUIT when it was let in. Its failures change nothing:
 * the greeting was the verdict.
 */
async function goodbye(conn: StreamConn, capabilities: number, greeting: Uint8Array, left: () => number) {
  try {
    let pending = readPacket(greeting)?.rest ?? new Uint8Array(0);
    await conn.write(loginPacket(PROBE_USER, capabilities));
    for (let round = 0; round < 4; round++) {
      let got = readPacket(pending);
      while (!got) {
        const chunk = await conn.read(left());
        if (chunk === null) return;
        pending = concat(pending, chunk);
        got = readPacket(pending);
      }
      pending = got.rest;
      const { seq, payload } = got.packet;
      if (payload[0] === 0x00) return void (await conn.write(COM_QUIT));
      if (payload[0] === 0xfe) {
        await conn.write(emptyAuth(seq));
        continue;
      }
      // ERR (Access denied): the server ends the connection; anything else is left as it is.
      return;
    }
  } catch {
    // The verdict stands.
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
    error: whatAnswered(bytes, "MySQL"),
    reply: new Uint8Array(bytes),
  };
}

/** NOT_READY are server errors of a server up but turning connections away: too many, blocked host, shutting down. */
const NOT_READY = new Set([1040, 1129, 1053, 1203]);

/** selectOne logs in with Bun's SQL client and runs SELECT 1, within the try's time left. */
async function selectOne(ctx: ServiceContext, timeoutMs: number): Promise<Verdict> {
  const sql = new SQL({
    // mariadb: Bun's MySQL driver, which selects no database when none is named (mysql would pick "mysql").
    adapter: "mariadb",
    hostname: ctx.address,
    port: ctx.port,
    username: ctx.endpoint.user,
    password: ctx.password ?? "",
    ...(ctx.endpoint.path ? { database: ctx.endpoint.path } : {}),
    max: 1,
    connectionTimeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
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
    const e = err as { code?: string; errno?: number; message?: string };
    const message = e.message ?? String(err);
    if (typeof e.errno === "number") {
      const words = `ERROR ${e.errno}: ${message}\n`;
      if (e.errno === 1045) return failed("error", "auth_failed", message, words);
      if (NOT_READY.has(e.errno)) return failed("not_ready", "not_ready", message, words);
      return failed("error", "other", `${message} (${e.errno})`, words);
    }
    if (e.code === "ETIMEDOUT" || e.code === "ERR_MYSQL_CONNECTION_TIMEOUT")
      return failed("timeout", "timeout", message);
    if (e.code === "ERR_MYSQL_CONNECTION_REFUSED") return failed("closed", "refused", message);
    return failed("error", "other", `${message}${e.code ? ` (${e.code})` : ""}`);
  } finally {
    timer?.clear();
    sql.close({ timeout: 0 }).catch(() => {});
  }
}
