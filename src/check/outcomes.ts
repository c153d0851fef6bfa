// Outcomes every kind of probe (TCP, UDP, HTTP) reaches the same way.
import { NetError } from "../errors.ts";
import type { Outcome } from "./result.ts";

/** wrongAddress: an outcome after which the next address of a name is worth a try (refused, or no route). */
export function wrongAddress(o: Outcome): boolean {
  return o.state === "closed" || o.state === "unreachable";
}

/** unresolved is the outcome of a name that did not resolve: the only failure a probe's address loop throws. */
export function unresolved(err: unknown, started: number): Outcome {
  return {
    state: "error",
    cause: "resolve",
    latencyMs: performance.now() - started,
    error: err instanceof NetError ? err.reason : String(err),
  };
}
