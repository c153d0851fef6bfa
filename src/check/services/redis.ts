// The redis check. PLACEHOLDER, being written now (issue 27): replaced before this lands.
import type { ServiceProbe } from "./service.ts";

export const probeRedis: ServiceProbe = async (ctx) => ({
  state: "error",
  cause: "other",
  address: ctx.address,
  latencyMs: 0,
  error: "redis checks are not built yet",
});
