// The redis check, as `redis-cli [-a PASSWORD] [-n DB] ping` grades it: AUTH when a password is given, SELECT when the
// URL names a db, then PING; +PONG is ready, -LOADING / -MASTERDOWN / -BUSY are not, decided on the reply line.
// Hand-written RESP over dialStream, not Bun's RedisClient: the client reconnects on its own and hides the server's
// error line (LOADING, NOAUTH) behind its own, and a check must see the first reply as it came.
import { quote } from "../../text/shown.ts";
import { type Conversation, converse, opened, type Verdict, verdict } from "./conversation.ts";
import type { ServiceProbe } from "./service.ts";

/** NOT_READY are the error replies of a redis that is up but cannot answer yet. */
const NOT_READY = /^(LOADING|MASTERDOWN|BUSY|TRYAGAIN)\b/;

export const probeRedis: ServiceProbe = (ctx) =>
  converse(
    ctx,
    "redis",
    async (c) => {
      const { user, path } = ctx.endpoint;
      if (ctx.password !== undefined) {
        const args = user === undefined ? ["AUTH", ctx.password] : ["AUTH", user, ctx.password];
        const reply = await command(c, args, "the AUTH reply");
        // A server with no password set says so for AUTH; redis-cli warns and carries on, and so does the check.
        if (reply.startsWith("-") && !/without any password configured/i.test(reply)) {
          const words = reply.slice(1);
          if (/^(WRONGPASS|ERR invalid (password|username))/i.test(words))
            return verdict("error", "auth_failed", `AUTH: ${words}`, reply);
          return graded(words, reply, "AUTH");
        }
      }
      if (path !== "") {
        if (!/^\d+$/.test(path)) return verdict("error", "other", `the db ${quote(path)} is not a number`);
        const reply = await command(c, ["SELECT", path], "the SELECT reply");
        if (reply.startsWith("-")) return graded(reply.slice(1), reply, `SELECT ${path}`);
      }
      const reply = await command(c, ["PING"], "the PING reply");
      if (reply === "+PONG") {
        c.send(encode(["QUIT"]));
        return opened("PONG");
      }
      if (reply.startsWith("-")) return graded(reply.slice(1), reply, "PING");
      return verdict("mismatch", "wrong_service", `PING got ${quote(reply)}, not +PONG`, reply);
    },
    { tls: ctx.endpoint.tls },
  );

/** command sends one command and reads its reply line; a line that is no RESP at all is no redis. */
async function command(c: Conversation, args: string[], what: string): Promise<string> {
  c.send(encode(args));
  const line = await c.line(what);
  if (!/^[-+:$*_#,(!=%~>|]/.test(line)) c.end(verdict("mismatch", "wrong_service", c.answered()));
  return line;
}

/** graded reads an error reply: not ready, a password wanted, or refused. */
function graded(words: string, reply: string, after: string): Verdict {
  if (NOT_READY.test(words)) return verdict("not_ready", "not_ready", words, reply);
  if (/^NOAUTH\b/.test(words))
    return verdict(
      "error",
      "auth_required",
      `${words} (the server wants a password: give it in the URL, --password-file or REDISCLI_AUTH)`,
      reply,
    );
  if (/^(WRONGPASS|NOPERM)\b/.test(words)) return verdict("error", "auth_failed", `${after}: ${words}`, reply);
  return verdict("error", "other", `${after}: ${words}`, reply);
}

/** encode writes a command as a RESP array of bulk strings. */
function encode(args: string[]): Uint8Array {
  const enc = new TextEncoder();
  const parts = args.map((a) => enc.encode(a));
  const head = (p: Uint8Array) => `$${p.length}\r\n`;
  const out: number[] = [...enc.encode(`*${args.length}\r\n`)];
  for (const p of parts) out.push(...enc.encode(head(p)), ...p, 13, 10);
  return Uint8Array.from(out);
}
