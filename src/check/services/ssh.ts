// The SSH check, as check_ssh makes it: the server's identification line (SSH-2.0-...), read and graded; our own
// identification goes out first, as RFC 4253 lets both sides do (so a server that waits for the client, HTTP, answers
// and shows what it is), and the connection is closed before any key exchange.
import { quote } from "../../text/shown.ts";
import { converse, opened, verdict } from "./conversation.ts";
import type { ServiceProbe } from "./service.ts";

export const probeSsh: ServiceProbe = (ctx) =>
  converse(ctx, "SSH", async (c) => {
    c.send("SSH-2.0-upcat_check\r\n");
    const banner = await c.line("SSH identification line");
    const m = /^SSH-([\d.]+)-(\S+)/.exec(banner);
    if (!m) return verdict("mismatch", "wrong_service", c.answered());
    // 1.99 is a server that speaks both; 1.x alone is SSH-1, which no client of today speaks.
    if (m[1] !== "2.0" && m[1] !== "1.99")
      return verdict(
        "mismatch",
        "wrong_service",
        `an SSH server of protocol ${m[1]} answered ${quote(banner)}`,
        banner,
      );
    return opened(banner);
  });
