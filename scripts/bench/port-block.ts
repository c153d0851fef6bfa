// A block of loopback ports whose odd members listen (half open, half closed), in this process: the port-scan figures
// of scripts/bench.ts and scripts/check-vs-nc.ts both scan one.

/** PortBlock is LOW-HIGH, `size` ports, the odd ones listening until stop(). */
export interface PortBlock {
  low: number;
  high: number;
  stop(): void;
}

/**
 * listenPortBlock finds a block of `size` ports (even) where every odd one can be bound, trying random places below
 * the ephemeral range (32768+: there a connect to a closed port can connect to itself); undefined after 50 tries.
 */
export function listenPortBlock(size: number): PortBlock | undefined {
  const listeners: { stop(closeActive?: boolean): void }[] = [];
  const stop = () => listeners.splice(0).forEach((l) => l.stop(true));
  for (let tries = 0; tries < 50; tries++) {
    stop();
    const low = 10_000 + Math.floor(Math.random() * 21_000);
    try {
      for (let p = low + 1; p < low + size; p += 2)
        listeners.push(Bun.listen({ hostname: "127.0.0.1", port: p, socket: { data() {} } }));
      return { low, high: low + size - 1, stop };
    } catch {
      // a port there is taken: try another place
    }
  }
  stop();
  return undefined;
}
