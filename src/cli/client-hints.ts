// What the client commands (send, bench) add to a network failure: what to check and which flag to
// try. The transports report what happened; naming flags is the command line's business.
import { NetError } from "../errors.ts";

/** clientHint says what to try after a failed request, or nothing when there is nothing useful to say. */
function clientHint(err: NetError): string | undefined {
  if (err.code === "ECONNREFUSED")
    return err.transport === "udp" ? "nothing is listening on that port" : "is a server running there?";
  if (err.code !== "ETIMEDOUT") return undefined;
  return err.transport === "udp" && err.op === "read"
    ? "is a server running there? try --timeout or --retries"
    : "try --timeout";
}

/** withClientHint adds the hint to a NetError on its way out of a command; anything else passes unchanged. */
export function withClientHint(err: unknown): unknown {
  return err instanceof NetError ? err.withHint(clientHint(err)) : err;
}
