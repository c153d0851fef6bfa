// The dns check. PLACEHOLDER, being written now (issue 27): replaced before this lands.
import type { ServiceProbe } from "./service.ts";

export const probeDns: ServiceProbe = async (ctx) => ({
  state: "error",
  cause: "other",
  address: ctx.address,
  latencyMs: 0,
  error: "dns checks are not built yet",
});
