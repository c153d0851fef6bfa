// Parses the relay's LISTEN and TARGET: one transport for both, a LISTEN port of 0 for any free port, a bare port for
// LISTEN.
import { UsageError } from "../errors.ts";
import { ALL_INTERFACES } from "../transport/listener.ts";
import { parseTarget, type Target } from "../transport/target.ts";
import type { Transport } from "../transport/transport.ts";

const SCHEME = /^(tcp|udp):\/\//i;

/** Ends are where a relay listens and where it forwards to, over one transport. */
export interface Ends {
  transport: Transport;
  listen: Target;
  target: Target;
}

/**
 * parseEnds reads LISTEN and TARGET. A scheme on either names the transport for both (TCP without
 * one); two different schemes are refused, since a relay forwards one transport. LISTEN without a
 * host listens on every interface; `8080` is `:8080`; port 0 is any free port. TARGET without a
 * host is this machine (127.0.0.1).
 */
export function parseEnds(listenText: string, targetText: string): Ends {
  const listenScheme = SCHEME.exec(listenText)?.[1]?.toLowerCase() as Transport | undefined;
  const targetScheme = SCHEME.exec(targetText)?.[1]?.toLowerCase() as Transport | undefined;
  if (listenScheme && targetScheme && listenScheme !== targetScheme) {
    throw new UsageError(
      `LISTEN is ${listenScheme} and TARGET is ${targetScheme}: a relay forwards one transport (give both the same ` +
        `scheme)`,
    );
  }
  const transport = listenScheme ?? targetScheme ?? "tcp";
  const listen = named("LISTEN", () =>
    parseListen(/^\d+$/.test(listenText) ? `:${listenText}` : listenText, transport),
  );
  const target = named("TARGET", () => parseTarget(targetText, { transport, host: "127.0.0.1" }));
  return { transport, listen, target };
}

/** named says which argument was wrong: parseTarget's message speaks of a target. */
function named<T>(which: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(err.message.replace(/^invalid target/, `invalid ${which}`));
    throw err;
  }
}

/** parseListen is parseTarget with port 0 allowed, for "any free port" (printed once bound). */
function parseListen(text: string, transport: Transport): Target {
  const anyPort = /:0$/.test(text);
  const parsed = parseTarget(anyPort ? `${text.slice(0, -1)}1` : text, { transport, host: ALL_INTERFACES });
  return anyPort ? { ...parsed, port: 0 } : parsed;
}
