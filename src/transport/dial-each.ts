// The one address loop, as Go's dialSerial: a name's addresses are tried in turn while they refuse.
import { NetError } from "../errors.ts";
import { resolveHost } from "./address.ts";
import type { Transport } from "./transport.ts";

/** WRONG_ADDRESS are the failures that say this address is wrong, not the service: the next one may do. */
const WRONG_ADDRESS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"]);

/** worthNextAddress says whether a failure is one after which the next address of a name is worth a try. */
function worthNextAddress(err: unknown): boolean {
  return err instanceof NetError && err.code !== undefined && WRONG_ADDRESS.has(err.code);
}

/**
 * dialEach resolves the host and runs `attempt` on each address in turn while it fails with a refusal
 * or an unreachable address (an IPv6 address on an IPv4-only path), or returns a result that `next`
 * says is one of those. Any other failure ends the loop: a timeout has spent the user's patience.
 */
export async function dialEach<T>(
  host: string,
  transport: Transport,
  attempt: (address: string) => Promise<T>,
  next?: (result: T) => boolean,
): Promise<T> {
  const addresses = await resolveHost(host, transport);
  let last: { result: T } | { err: unknown } | undefined;
  for (const address of addresses) {
    try {
      const result = await attempt(address);
      if (!next?.(result)) return result;
      last = { result };
    } catch (err) {
      if (!worthNextAddress(err)) throw err;
      last = { err };
    }
  }
  if (last && "result" in last) return last.result;
  throw last?.err;
}
