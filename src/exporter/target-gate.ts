// Which hosts a probe may reach: `--allow-target CIDR|HOST`, with loopback and link-local refused unless named. The
// exporter answers whoever can reach it, so without this gate it would be a port scanner of its own network.
import { BlockList } from "node:net";
import { NetError, UsageError } from "../errors.ts";
import { plainAddress, resolveHost } from "../transport/address.ts";
import { ipVersion } from "../transport/ip.ts";
import { addressBytes, hostBitsSet } from "../transport/prefix.ts";
import { quote } from "../text/shown.ts";

/**
 * CLOSE_TO_HOME are the addresses that reach this machine or its link whatever the network: loopback, link-local
 * (169.254.169.254 is a cloud's metadata service, credentials and all) and "this host" (0.0.0.0 connects to loopback).
 * They stay refused unless an entry inside them names them: `--allow-target 0.0.0.0/0` does not open them.
 */
const CLOSE_TO_HOME: readonly [string, number][] = [
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["0.0.0.0", 8],
  ["::1", 128],
  ["::", 128],
  ["fe80::", 10],
];

/** TargetRefused is a probe of an address the gate does not admit: the exporter answers 403. */
export class TargetRefused extends Error {
  override name = "TargetRefused";
}

/** Admitted is a host the gate let through: its addresses, and how long looking them up took. */
export interface Admitted {
  readonly addresses: readonly string[];
  readonly lookupMs: number;
  /** unresolved is why the name did not resolve: there is nothing to reach, and the probe fails on it. */
  readonly unresolved?: NetError;
}

/** TargetGate says whether a probe may go to a host, resolving a name to judge every address it has. */
export interface TargetGate {
  admit(host: string): Promise<Admitted>;
  /**
   * reached says whether the address a probe of host ended at is one the gate admits. The probe looks the name up
   * again; a DNS server that answers the second time with another address (rebinding) must not make the exporter
   * report on a port it would have refused.
   */
  reached(host: string, address: string): boolean;
  /** text is the list as given, for the ready line. */
  readonly text: string;
}

const family = (address: string) => (ipVersion(address) === 6 ? "ipv6" : "ipv4");

function listOf(entries: readonly [string, number][]): BlockList {
  const list = new BlockList();
  for (const [address, prefix] of entries) list.addSubnet(address, prefix, family(address));
  return list;
}

const HOME = listOf(CLOSE_TO_HOME);

/** textOf writes an address's bytes as text BlockList reads. */
function textOf(bytes: readonly number[]): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(":");
}

/** lastOf is a network's last address: its host bits all set. */
function lastOf(bytes: readonly number[], prefix: number): number[] {
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return b | (0xff >> keep);
  });
}

const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/**
 * parseTargetGate reads --allow-target entries: CIDRs and addresses (10.0.0.0/8, ::1) admit the addresses in them,
 * host names admit that name whatever it resolves to. With no entry, every address but CLOSE_TO_HOME is admitted.
 */
export function parseTargetGate(entries: readonly string[]): TargetGate {
  const networks = new BlockList();
  const home = new BlockList();
  const hosts = new Set<string>();
  for (const entry of entries) {
    const [address = "", prefixText, extra] = entry.split("/");
    const bytes = addressBytes(address);
    // Digits and dots alone are an address mistyped (1.2.3), not a name.
    const name = !bytes && prefixText === undefined && HOST_NAME.test(entry) && !/^[\d.]+$/.test(entry);
    if (name && entry.length <= 253) {
      hosts.add(entry.toLowerCase());
      continue;
    }
    const max = bytes ? bytes.length * 8 : 0;
    const plain = prefixText === undefined || /^(0|[1-9]\d{0,2})$/.test(prefixText);
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!bytes || extra !== undefined || !plain || prefix > max)
      throw new UsageError(
        `invalid --allow-target ${quote(entry)} (expected a CIDR, an address or a host name: 10.0.0.0/8, ::1, db.lan)`,
      );
    if (hostBitsSet(bytes, prefix))
      throw new UsageError(`invalid --allow-target ${quote(entry)}: host bits are set after /${prefix}`);
    const kind = bytes.length === 4 ? "ipv4" : "ipv6";
    networks.addSubnet(address, prefix, kind);
    // Inside loopback or link-local from end to end: this entry names them, and opens them.
    const first = textOf(bytes);
    const last = textOf(lastOf(bytes, prefix));
    if (HOME.check(first, kind) && HOME.check(last, kind)) home.addSubnet(address, prefix, kind);
  }
  const open = entries.length === 0;
  const allows = (raw: string): boolean => {
    const address = plainAddress(raw);
    const kind = family(address);
    if (HOME.check(address, kind)) return home.check(address, kind);
    return open || networks.check(address, kind);
  };
  const named = (host: string) => hosts.has(host.toLowerCase().replace(/\.$/, ""));
  return {
    text: entries.join(","),
    reached: (host, address) => named(host) || allows(address),
    async admit(host) {
      // dns:///name asks the system's own resolvers: the exporter's operator chose them, not the requester.
      if (host === "") return { addresses: [], lookupMs: 0 };
      const started = performance.now();
      let addresses: string[];
      try {
        addresses = await resolveHost(host, "tcp");
      } catch (err) {
        if (!(err instanceof NetError)) throw err;
        // No address, nothing reached: the probe fails on the name, as it would have itself.
        return { addresses: [], lookupMs: performance.now() - started, unresolved: err };
      }
      const lookupMs = performance.now() - started;
      if (!named(host)) {
        // Every address, for the probe may try each: one address at home is the whole name refused.
        const refused = addresses.find((a) => !allows(a));
        if (refused !== undefined)
          throw new TargetRefused(
            refused === host ? `${host} is not an allowed target` : `${host} (${refused}) is not an allowed target`,
          );
      }
      return { addresses, lookupMs };
    },
  };
}
