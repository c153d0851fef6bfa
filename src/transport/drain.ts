// Graceful shutdown: stop taking peers, let connections in progress finish, then close the rest.
import type { Listener } from "./listener.ts";

/** openConnections counts the TCP connections still open across listeners. */
export function openConnections(listeners: readonly Listener[]): number {
  return listeners.reduce((n, l) => n + l.counters.open, 0);
}

/**
 * drain closes every listener to new peers, waits up to `ms` for open connections to finish, or
 * until `cut` resolves (a second signal), then stops everything. It returns how many it had to cut.
 */
export async function drain(listeners: readonly Listener[], ms: number, cut: Promise<unknown>): Promise<number> {
  for (const l of listeners) l.close();
  let cutNow = false;
  void cut.then(() => (cutNow = true));
  const deadline = performance.now() + ms;
  while (openConnections(listeners) > 0 && !cutNow && performance.now() < deadline) await Bun.sleep(25);
  const left = openConnections(listeners);
  for (const l of listeners) l.stop();
  return left;
}
