// The memcached check: `version` answered with `VERSION x`, as a person checks with nc.
import { quote } from "../../text/shown.ts";
import { converse, opened, verdict } from "./conversation.ts";
import type { ServiceProbe } from "./service.ts";

export const probeMemcached: ServiceProbe = (ctx) =>
  converse(ctx, "memcached", async (c) => {
    c.send("version\r\n");
    const line = await c.line("VERSION reply");
    if (/^VERSION \S/.test(line)) {
      c.send("quit\r\n");
      return opened(line);
    }
    // memcached's own refusals: out of connections, or out of memory for one.
    if (/^SERVER_ERROR\b/.test(line)) return verdict("not_ready", "not_ready", line.slice(13) || line, line);
    if (/^(ERROR|CLIENT_ERROR)\b/.test(line))
      return verdict("mismatch", "wrong_service", `version got ${quote(line)}, not VERSION`, line);
    return verdict("mismatch", "wrong_service", c.answered());
  });
