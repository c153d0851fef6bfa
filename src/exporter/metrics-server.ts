// The /metrics endpoint of `serve --metrics` and `relay --metrics`: a small Bun.serve that answers what `render` says.
import type { Server } from "bun";

/** MAX_BODY and IDLE_S bound a scraper as the exporter bounds its own: no body read, quiet connections closed. */
const MAX_BODY = 1024;
const IDLE_S = 10;
const MAX_URL = 8 * 1024;

export interface MetricsServer {
  readonly hostname: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** serveMetrics answers GET /metrics with render()'s text, / with a line naming it, and nothing else. */
export function serveMetrics(hostname: string, port: number, render: () => string): MetricsServer {
  const text = (status: number, body: string, type = "text/plain; charset=utf-8") =>
    new Response(body, { status, headers: { "content-type": type } });
  const server: Server<undefined> = Bun.serve({
    hostname,
    port,
    maxRequestBodySize: MAX_BODY,
    idleTimeout: IDLE_S,
    fetch(req) {
      if (req.url.length > MAX_URL) return text(414, `the URL is over ${MAX_URL} bytes\n`);
      if (req.method !== "GET" && req.method !== "HEAD") return text(405, "only GET is served\n");
      const path = new URL(req.url).pathname;
      if (path === "/metrics") return text(200, render(), "text/plain; version=0.0.4; charset=utf-8");
      if (path === "/") return text(200, "upcat: the server's counters are at /metrics\n");
      return text(404, "try /metrics\n");
    },
  });
  return { hostname: server.hostname ?? hostname, port: server.port ?? port, stop: () => server.stop() };
}
