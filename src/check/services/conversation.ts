// One service conversation over TCP (or TLS) with a deadline for the whole try: dial, send, read until a complete line
// or frame has come, and turn every way it can end early (time, a close, a reset) into an Outcome. Every TCP service
// check (redis, memcached, smtp, ssh, amqp) is written on it.
import type { NetError } from "../../errors.ts";
import { dialStream, type StreamConn } from "../../transport/stream-conn.ts";
import { type Deadline, deadlineIn } from "../../transport/time-limit.ts";
import type { Cause, CheckState, Outcome } from "../result.ts";
import { stateOf } from "../state-of.ts";
import type { ServiceContext } from "./service.ts";
import { askWhatListens, pokeLead, whatAnswered } from "./what-answered.ts";

/** Verdict is an Outcome before the address and the time are added. */
export type Verdict = Omit<Outcome, "address" | "latencyMs">;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** verdict builds a failed (or not ready) Verdict; reply is what the service said, kept for --json. */
export function verdict(state: CheckState, cause: Cause, error: string, reply?: Uint8Array | string): Verdict {
  return { state, cause, error, ...(reply === undefined ? {} : { reply: bytesOf(reply) }) };
}

/** opened is a passing Verdict with the service's answer as its reply. */
export function opened(reply: Uint8Array | string): Verdict {
  return { state: "open", reply: bytesOf(reply) };
}

const bytesOf = (b: Uint8Array | string) => (typeof b === "string" ? encoder.encode(b) : b);

/** MAX_REPLY is the most a reply line or frame may be before it counts as no service of ours. */
const MAX_REPLY = 64 * 1024;

/** Ended is thrown inside a conversation when it cannot go on; converse turns it into its Outcome. */
export class Ended extends Error {
  constructor(
    readonly verdict: Verdict,
    /** how: time ran out, the peer closed, or the connection broke; "verdict" for a probe's own early verdict. */
    readonly how: "timeout" | "closed" | "broken" | "verdict",
  ) {
    super(verdict.error ?? verdict.state);
  }
}

/** Conversation is one connected service: lines and frames read against the try's deadline. */
export class Conversation {
  private buf: Uint8Array = new Uint8Array(0);
  /** heard is everything the service has said, for the reply of a verdict that names it. */
  heard: Uint8Array = new Uint8Array(0);

  /** poke is what a second connection heard, asked while this one stayed silent (askWhatListens). */
  private poke?: Promise<Uint8Array | undefined>;

  constructor(
    private readonly conn: StreamConn,
    private readonly deadline: Deadline,
    private readonly timeoutMs: number,
    /** service names what we dialled in messages: "redis", "SMTP", ... */
    readonly service: string,
    /** ask asks what listens on a second connection; it runs near the deadline while nothing has been heard. */
    private readonly ask?: { lead: number; run(timeoutMs: number): Promise<Uint8Array | undefined> },
  ) {}

  /** send writes bytes; a write that fails shows up as the next read's failure. */
  send(data: string | Uint8Array): void {
    this.conn.write(bytesOf(data)).catch(() => {});
  }

  /** line reads up to the next \n and returns the line without its line end. */
  async line(what: string): Promise<string> {
    const bytes = await this.frame(what, (buf) => {
      const nl = buf.indexOf(0x0a);
      return nl < 0 ? 0 : nl + 1;
    });
    return decoder.decode(bytes).replace(/\r?\n$/, "");
  }

  /**
   * frame reads until `complete` says how long the frame at the front of the buffer is (0: not complete yet), and
   * returns it. `complete` may throw an Ended (a probe's early verdict: the bytes so far are no frame of ours).
   */
  async frame(what: string, complete: (buf: Uint8Array) => number): Promise<Uint8Array> {
    for (;;) {
      const n = this.buf.length > 0 ? complete(this.buf) : 0;
      if (n > 0) {
        const frame = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        return frame;
      }
      if (this.buf.length >= MAX_REPLY)
        this.end(verdict("mismatch", "wrong_service", `${this.answered()}, with no ${what} in ${MAX_REPLY} bytes`));
      const chunk = await this.read(what);
      this.buf = concat(this.buf, chunk);
      this.heard = concat(this.heard, chunk);
    }
  }

  /** end stops the conversation with a verdict. */
  end(v: Verdict, how: Ended["how"] = "verdict"): never {
    throw new Ended(v.reply || this.heard.length === 0 ? v : { ...v, reply: this.heard }, how);
  }

  /** answered names what has answered so far, for a wrong service: its first line, quoted, and what it looks like. */
  answered(): string {
    return whatAnswered(this.heard, this.service);
  }

  private async read(what: string): Promise<Uint8Array> {
    const left = this.deadline.left();
    let chunk: Uint8Array | null;
    // A port silent near the end is asked what it is on a second connection, while this one keeps listening: a
    // service that answers late still counts.
    const ask = this.ask;
    const asking =
      ask && this.heard.length === 0 && !this.poke
        ? setTimeout(
            () => {
              this.poke = ask.run(Math.max(1, this.deadline.left()));
            },
            Math.max(0, left - ask.lead),
          )
        : undefined;
    try {
      if (left <= 0) throw { code: "ETIMEDOUT" };
      chunk = await this.conn.read(left);
    } catch (err) {
      const { state, cause = "other" } = stateOf((err as NetError).code, "reply");
      if (cause === "timeout") {
        const said = this.heard.length === 0 ? await this.poke : undefined;
        if (said) this.end(verdict("mismatch", "wrong_service", whatAnswered(said, this.service), said), "timeout");
        if (this.heard.length === 0)
          this.end(verdict("timeout", "timeout", `no ${what} within ${this.timeoutMs}ms`), "timeout");
        if (this.buf.length > 0)
          this.end(
            verdict("mismatch", "wrong_service", `${this.answered()}, with no complete ${what}`, this.heard),
            "timeout",
          );
        this.end(verdict("timeout", "timeout", `no ${what} within ${this.timeoutMs}ms`), "timeout");
      }
      const how = cause === "no_data" ? "connection reset by peer" : (err as NetError).reason;
      if (this.heard.length > 0 && cause === "no_data")
        this.end(verdict("mismatch", "wrong_service", `${this.answered()}, then ${how}`), "broken");
      this.end(verdict(state, cause, `${how} before the ${what}`), "broken");
    } finally {
      clearTimeout(asking);
    }
    if (chunk === null) {
      if (this.heard.length === 0)
        this.end(verdict("error", "no_data", `connection closed by peer without a ${what}`), "closed");
      this.end(
        verdict("mismatch", "wrong_service", `${this.answered()}, then closed the connection before the ${what}`),
        "closed",
      );
    }
    return chunk;
  }

  close(): void {
    this.conn.close();
  }
}

/**
 * converse dials ctx (with TLS when asked), lets talk hold the conversation, and returns its verdict as an Outcome:
 * network failures and early ends are outcomes too, never throws. latencyMs is the time to the verdict.
 */
export async function converse(
  ctx: ServiceContext,
  service: string,
  talk: (c: Conversation) => Promise<Verdict>,
  opts: { tls?: boolean } = {},
): Promise<Outcome> {
  const started = performance.now();
  const deadline = deadlineIn(ctx.timeoutMs);
  const since = () => performance.now() - started;
  let conn: StreamConn;
  try {
    conn = await dialStream(ctx.address, ctx.port, {
      timeoutMs: ctx.timeoutMs,
      tls: opts.tls ? { serverName: isIp(ctx.host) ? undefined : ctx.host, ca: ctx.trust?.ca } : undefined,
    });
  } catch (err) {
    return { address: ctx.address, latencyMs: since(), ...dialFailure(err as NetError, ctx.timeoutMs, !!opts.tls) };
  }
  if (opts.tls && conn.tls && !conn.tls.success && !conn.tls.certificate) {
    conn.close();
    return {
      address: ctx.address,
      latencyMs: since(),
      ...verdict("error", "not_tls", `TLS handshake failed (does this port speak TLS?)`),
    };
  }
  // As redis-cli --tls does: a certificate that does not verify fails, unless --insecure.
  const authError = opts.tls ? conn.tls?.authError : undefined;
  if (authError && !ctx.trust?.insecure) {
    conn.close();
    const why = `certificate does not verify: ${authError.message} (--ca FILE to trust its CA, --insecure to skip)`;
    return { address: ctx.address, latencyMs: since(), ...verdict("error", "cert_untrusted", why) };
  }
  const c = new Conversation(conn, deadline, ctx.timeoutMs, service, {
    lead: pokeLead(ctx.timeoutMs),
    run: (ms) => askWhatListens(ctx, ms),
  });
  let v: Verdict;
  try {
    v = await talk(c);
  } catch (err) {
    // A reply that breaks a reader (a field past the frame's end) is an answer we cannot read: said, never thrown.
    v =
      err instanceof Ended
        ? err.verdict
        : verdict("error", "other", `unreadable ${service} reply: ${(err as Error).message}`, c.heard);
  }
  const latencyMs = since();
  c.close();
  return { address: ctx.address, latencyMs, ...v };
}

function dialFailure(err: NetError, timeoutMs: number, tls: boolean): Verdict {
  const { state, cause } = stateOf(err.code, tls ? "connect-tls" : "connect-reply");
  switch (cause) {
    case undefined:
      return { state };
    case "timeout":
      return verdict(state, cause, `no ${tls ? "TLS handshake" : "connection"} within ${timeoutMs}ms`);
    case "refused":
      return verdict(state, cause, "connection refused");
    case "not_tls":
      return verdict(state, cause, "connection closed by peer during the TLS handshake");
    case "no_data":
      return verdict(state, cause, "connection reset by peer without a reply");
    default:
      return verdict(state, cause, err.reason);
  }
}

const isIp = (host: string) => /^[\d.]+$/.test(host) || host.includes(":");

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
