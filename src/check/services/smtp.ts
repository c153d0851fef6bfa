// The smtp check. PLACEHOLDER, being written now (issue 27): replaced before this lands.
import type { ServiceProbe } from "./service.ts";

export const probeSmtp: ServiceProbe = async (ctx) => ({
  state: "error",
  cause: "other",
  address: ctx.address,
  latencyMs: 0,
  error: "smtp checks are not built yet",
});
