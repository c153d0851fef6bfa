// --max-per-address: how many connections (or relay sessions) each client address holds open, for serve's TCP
// listeners and the relay alike.
import { addressKey } from "./prefix.ts";

/** AddressSlots counts the open connections of each client address (addressKey: an IPv4 address, an IPv6 /64). */
export class AddressSlots {
  private readonly held = new Map<string, number>();

  /**
   * take holds one more slot for the peer's address and returns the key to give it back with, or undefined when the
   * address already holds `max` (0: no cap).
   */
  take(peer: string, max: number): string | undefined {
    const key = addressKey(peer);
    const held = this.held.get(key) ?? 0;
    if (max > 0 && held >= max) return undefined;
    this.held.set(key, held + 1);
    return key;
  }

  /** give returns the slot that take held under this key. */
  give(key: string): void {
    const held = this.held.get(key) ?? 0;
    if (held <= 1) this.held.delete(key);
    else this.held.set(key, held - 1);
  }
}
