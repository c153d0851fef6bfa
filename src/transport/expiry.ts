// --idle-timeout and --max-lifetime: one sweep a listener (serve's TCP, the relay's TCP and UDP) finds the
// connections or sessions that have run out; a timer each would cost every connection two.
import type { Counters, LimitName, Limits } from "./listener.ts";

/** Expiry is why a connection ran out: nothing moved either way for --idle-timeout, or open past --max-lifetime. */
export type Expiry = "idle" | "lifetime";

/** EXPIRY_LIMIT names each expiry as `--log json` does. */
export const EXPIRY_LIMIT: Record<Expiry, LimitName> = { idle: "idle-timeout", lifetime: "max-lifetime" };

/**
 * expiryOf says whether a connection has run out at `now` (idle before lifetime) and counts it in `counters`;
 * undefined while it has not.
 */
export function expiryOf(
  limits: Pick<Limits, "idleTimeoutMs" | "maxLifetimeMs">,
  counters: Pick<Counters, "idleClosed" | "lifetimeClosed">,
  conn: { lastActive: number; openedAt: number },
  now: number,
): Expiry | undefined {
  if (limits.idleTimeoutMs > 0 && now - conn.lastActive >= limits.idleTimeoutMs) {
    counters.idleClosed++;
    return "idle";
  }
  if (limits.maxLifetimeMs > 0 && now - conn.openedAt >= limits.maxLifetimeMs) {
    counters.lifetimeClosed++;
    return "lifetime";
  }
  return undefined;
}

/**
 * startSweep runs `sweep` often enough for the shortest of these bounds (a quarter of it, from 10 ms to 1 s), without
 * keeping the process alive; none when every bound is 0 (off).
 */
export function startSweep(boundsMs: readonly number[], sweep: () => void): ReturnType<typeof setInterval> | undefined {
  const timed = boundsMs.filter((ms) => ms > 0);
  if (timed.length === 0) return undefined;
  const timer = setInterval(sweep, Math.min(1000, Math.max(10, Math.min(...timed) / 4)));
  timer.unref();
  return timer;
}
