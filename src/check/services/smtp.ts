// The SMTP check, as check_smtp makes it: the 220 greeting (multi-line too), EHLO, QUIT. A 421 or 554 greeting is a
// server that is up and turning mail away (as any 4xx or 5xx greeting is): not ready, in its own words.
import { hostname } from "node:os";
import { quote } from "../../text/shown.ts";
import { type Conversation, converse, opened, verdict } from "./conversation.ts";
import type { ServiceProbe } from "./service.ts";

const REPLY_LINE = /^(\d{3})([ -]|$)(.*)$/;

export const probeSmtp: ServiceProbe = (ctx) =>
  converse(ctx, "SMTP", async (c) => {
    const greeting = await reply(c, "SMTP greeting");
    const words = greeting.lines.join(" ");
    if (greeting.code[0] === "4" || greeting.code[0] === "5")
      return verdict("not_ready", "not_ready", words, greeting.text);
    if (greeting.code !== "220")
      return verdict("mismatch", "wrong_service", `the greeting ${quote(words)} is not 220`, greeting.text);
    c.send(`EHLO ${helloName()}\r\n`);
    const ehlo = await reply(c, "EHLO reply");
    const said = `${greeting.text}${ehlo.text}`;
    // 421 to EHLO: the server is closing the connection, busy.
    if (ehlo.code[0] === "4") return verdict("not_ready", "not_ready", ehlo.lines.join(" "), said);
    c.send("QUIT\r\n");
    return opened(said);
  });

/** reply reads one SMTP reply: lines "ddd-text" up to the last, "ddd text". */
async function reply(c: Conversation, what: string): Promise<{ code: string; lines: string[]; text: string }> {
  const lines: string[] = [];
  let text = "";
  for (;;) {
    const line = await c.line(what);
    const m = REPLY_LINE.exec(line);
    if (!m || (lines.length > 0 && m[1] !== lines[0]!.slice(0, 3)))
      c.end(verdict("mismatch", "wrong_service", c.answered()));
    lines.push(line);
    text += `${line}\r\n`;
    if (m[2] !== "-") return { code: m[1]!, lines: lines.map((l) => l.slice(4)), text };
  }
}

/** helloName is this host's name where it is a domain SMTP accepts after EHLO, else localhost. */
function helloName(): string {
  const name = hostname();
  return /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(name) ? name : "localhost";
}
