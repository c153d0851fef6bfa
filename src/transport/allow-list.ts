// Who a server answers: `--allow CIDR`, matched with node:net's BlockList.
import { UsageError } from "../errors.ts";
import { plainAddress } from "./address.ts";
import { addressBytes, hostBitsSet } from "./prefix.ts";
import { quote } from "../text/shown.ts";

/** AllowList says whether a peer address may be served. */
export interface AllowList {
  allows(address: string): boolean;
  /** text is the list as the user gave it, for the ready line. */
  readonly text: string;
}

/**
 * parseAllowList reads CIDRs (`10.0.0.0/8`, `::1/128`) or bare addresses; an empty list allows everyone.
 * It reads exactly what was typed: a length must be a plain number (not ` 8`, `08`, `+8`), and a
 * network must have no host bits set, because `127.0.0.1/0` silently meaning "all of IPv4" is a
 * mistake no one makes on purpose.
 */
export function parseAllowList(items: readonly string[]): AllowList | undefined {
  if (items.length === 0) return undefined;
  // node:net only when there is a list: its import costs a process megabytes (read-input.ts has the figures).
  const { BlockList, isIPv4 } = require("node:net") as typeof import("node:net");
  const list = new BlockList();
  for (const item of items) {
    const [address = "", prefixText, extra] = item.split("/");
    const bytes = addressBytes(address);
    const max = bytes ? bytes.length * 8 : 0;
    const plain = prefixText === undefined || /^(0|[1-9]\d{0,2})$/.test(prefixText);
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!bytes || extra !== undefined || !plain || prefix > max) {
      throw new UsageError(`invalid --allow ${quote(item)} (expected an address or CIDR, as in 10.0.0.0/8 or ::1/128)`);
    }
    if (hostBitsSet(bytes, prefix)) {
      throw new UsageError(
        `invalid --allow ${quote(item)}: host bits are set after /${prefix} (did you mean ` +
          `${networkOf(bytes, prefix)}/${prefix}?)`,
      );
    }
    list.addSubnet(address, prefix, bytes.length === 4 ? "ipv4" : "ipv6");
  }
  return {
    text: items.join(","),
    allows(address) {
      const plain = plainAddress(address);
      return list.check(plain, isIPv4(plain) ? "ipv4" : "ipv6");
    },
  };
}

/** networkOf clears the host bits, for the hint: 127.0.0.1/8 → 127.0.0.0. */
function networkOf(bytes: readonly number[], prefix: number): string {
  const net = bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  if (net.length === 4) return net.join(".");
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((net[i]! << 8) | net[i + 1]!).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}
