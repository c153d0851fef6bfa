// The one address loop, as Go's dialSerial: a name's addresses are tried in turn while they refuse.
import { NetError } from "../errors.ts";
import { resolveHost } from "./address.ts";
import type { Transport } from "./transport.ts";

/**
 * dialEach resolves the host and runs `attempt` on each address until one does not refuse. A refusal
 * says this address is wrong; any other failure (a timeout has spent the user's patience) ends the loop.
 */
export async function dialEach<T>(host: string, transport: Transport, attempt: (address: string) => Promise<T>): Promise<T> {
  const addresses = await resolveHost(host, transport);
  let last: unknown;
  for (const address of addresses) {
    try {
      return await attempt(address);
    } catch (err) {
      last = err;
      if (!(err instanceof NetError && err.code === "ECONNREFUSED")) throw err;
    }
  }
  throw last;
}
