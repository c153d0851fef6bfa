// Who a server answers: `--allow CIDR`, matched with node:net's BlockList.
import { BlockList, isIPv4, isIPv6 } from "node:net";
import { UsageError } from "../errors.ts";
import { plainAddress } from "./address.ts";

/** AllowList says whether a peer address may be served. */
export interface AllowList {
  allows(address: string): boolean;
  /** text is the list as the user gave it, for the ready line. */
  readonly text: string;
}

/** parseAllowList reads CIDRs (`10.0.0.0/8`, `::1/128`) or bare addresses; an empty list allows everyone. */
export function parseAllowList(items: readonly string[]): AllowList | undefined {
  if (items.length === 0) return undefined;
  const list = new BlockList();
  for (const item of items) {
    const [address = "", prefixText, extra] = item.trim().split("/");
    const family = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : undefined;
    const max = family === "ipv4" ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!family || extra !== undefined || !/^\d+$/.test(prefixText ?? String(max)) || prefix > max) {
      throw new UsageError(`invalid --allow "${item}" (expected an address or CIDR, as in 10.0.0.0/8 or ::1/128)`);
    }
    list.addSubnet(address, prefix, family);
  }
  return {
    text: items.join(","),
    allows(address) {
      const plain = plainAddress(address);
      return list.check(plain, isIPv4(plain) ? "ipv4" : "ipv6");
    },
  };
}
