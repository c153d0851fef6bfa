// A seeded random source, so that `--seed` replays the same losses, duplicates and jitter.

/** Random returns numbers in [0, 1), like Math.random. */
export type Random = () => number;

/** seeded is mulberry32: small, fast and deterministic; the same seed gives the same sequence. */
export function seeded(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * randomFor is the source of one direction of one connection or session: the n-th (counting from 0)
 * the relay opened. Each gets a sequence of its own, so a run replays exactly when the same clients
 * arrive in the same order, however their traffic interleaves.
 */
export function randomFor(seed: number, n: number, direction: "up" | "down"): Random {
  return seeded(Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(n * 2 + (direction === "up" ? 0 : 1) + 1, 0x85ebca6b));
}
