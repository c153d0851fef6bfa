// `upcat exporter`'s HTTP server (Bun.serve): /probe as Blackbox answers it, /metrics of its own, and / naming both.
import type { Server } from "bun";
import { targetText, protoOf } from "../check/report/target.ts";
import { UsageError } from "../errors.ts";
import { redactIn } from "../text/redact.ts";
import { cut, escapeControl, quote } from "../text/shown.ts";
import { ExporterCounters, type Refusal } from "./counters.ts";
import { probeTimeoutMs } from "./deadline.ts";
import { exposition } from "./exposition.ts";
import { type Module, shownModule } from "./modules.ts";
import { probeFamilies } from "./probe-metrics.ts";
import { type PlannedProbe, ProbeLog, runProbe } from "./probe-run.ts";
import { type TargetGate, TargetRefused } from "./target-gate.ts";

/** MAX_URL bounds a request's URL (a query string of a megabyte is refused, not parsed): Blackbox's URLs are short. */
export const MAX_URL = 8 * 1024;
/** MAX_TARGET bounds target=: a URL with a path and a query, not a page. */
export const MAX_TARGET = 2048;
/** MAX_BODY bounds a request body: the exporter reads none. */
const MAX_BODY = 1024;
/** IDLE_S closes a connection that sends nothing this long (Bun's idleTimeout); a probe lengthens its own request's. */
const IDLE_S = 10;

/** Planner makes a target and a module into a probe, as check plans a line; a mistake is a UsageError (400). */
export type Planner = (target: string, module: Module | undefined) => Promise<PlannedProbe>;

export interface ExporterOptions {
  readonly hostname: string;
  readonly port: number;
  readonly modules: ReadonlyMap<string, Module>;
  readonly gate: TargetGate;
  /** maxConcurrent bounds the probes in flight; past it a probe is answered 503 at once. */
  readonly maxConcurrent: number;
  readonly plan: Planner;
  /** defaultTimeoutMs is check's --timeout default: a probe's without the scrape header or a module's own. */
  readonly defaultTimeoutMs: number;
}

export interface RunningExporter {
  readonly hostname: string;
  readonly port: number;
  readonly counters: ExporterCounters;
  /** setModules replaces the modules (a --config read again); probes in flight keep the one they started with. */
  setModules(modules: ReadonlyMap<string, Module>): void;
  /** reloadFailed counts a --config that did not read again. */
  reloadFailed(): void;
  /** stop closes the listener and waits for the requests in flight. */
  stop(): Promise<void>;
}

const TEXT = "text/plain; charset=utf-8";
const METRICS = "text/plain; version=0.0.4; charset=utf-8";

/** Refused is a request answered with a status and one line, and counted. */
class Refused extends Error {
  constructor(
    readonly status: number,
    readonly reason: Refusal,
    message: string,
  ) {
    super(message);
  }
}

/** startExporter binds the exporter and serves until stopped. */
export function startExporter(opts: ExporterOptions): RunningExporter {
  const counters = new ExporterCounters();
  let modules = opts.modules;
  const server: Server<undefined> = Bun.serve({
    hostname: opts.hostname,
    port: opts.port,
    maxRequestBodySize: MAX_BODY,
    idleTimeout: IDLE_S,
    fetch: async (req, srv) => {
      try {
        return await answer(req, srv);
      } catch (err) {
        if (!(err instanceof Refused)) throw err;
        counters.refuse(err.reason);
        return line(err.status, err.message);
      }
    },
    error: (err) => line(500, `internal error: ${err instanceof Error ? err.message : String(err)}`),
  });

  async function answer(req: Request, srv: Server<undefined>): Promise<Response> {
    if (req.url.length > MAX_URL) throw new Refused(414, "too_large", `the URL is over ${MAX_URL} bytes`);
    if (req.method !== "GET" && req.method !== "HEAD") throw new Refused(405, "method", "only GET is served");
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/":
        return new Response(page(modules), { headers: { "content-type": "text/html; charset=utf-8" } });
      case "/metrics":
        return new Response(exposition(counters.families(opts.maxConcurrent)), {
          headers: { "content-type": METRICS },
        });
      case "/probe":
        return probe(req, url.searchParams, srv);
      default:
        throw new Refused(404, "not_found", `no ${cut(url.pathname, 60)} here: try /probe?target=... or /metrics`);
    }
  }

  async function probe(req: Request, params: URLSearchParams, srv: Server<undefined>): Promise<Response> {
    const target = one(params, "target");
    if (target === undefined || target === "") throw new Refused(400, "bad_request", "target= is required");
    if (target.length > MAX_TARGET) throw new Refused(400, "bad_request", `target= is over ${MAX_TARGET} characters`);
    // A blank would make the target a check line with options of its own (--ca FILE): one word, always.
    if (/[\s\x00-\x1f\x7f]/.test(target))
      throw new Refused(400, "bad_request", "target= is one TARGET, without blanks or control characters");
    const moduleName = one(params, "module");
    let module: Module | undefined;
    if (moduleName !== undefined && moduleName !== "") {
      module = modules.get(moduleName);
      if (!module)
        throw new Refused(
          400,
          "bad_request",
          `unknown module ${quote(moduleName, 64)} (known: ${[...modules.keys()].join(", ")})`,
        );
    }
    const debug = one(params, "debug") === "true";
    const header = req.headers.get("x-prometheus-scrape-timeout-seconds");
    // The header is read before any slot is taken: a request that cannot be answered costs nothing.
    await refuseUsage(() => probeTimeoutMs(header, undefined, opts.defaultTimeoutMs));
    if (counters.inFlight >= opts.maxConcurrent)
      throw new Refused(503, "too_many", `${opts.maxConcurrent} probes are running (--max-concurrent); try later`);
    counters.inFlight++;
    try {
      const spec = module?.scheme && !target.includes("://") ? `${module.scheme}://${target}` : target;
      const planned = await refuseUsage(() => opts.plan(spec, module));
      // The planned --timeout is the module's own, or check's default: only the module's own caps the scrape's.
      const moduleMs = module?.options.timeout === undefined ? undefined : planned.probe.timeoutMs;
      const timeoutMs = probeTimeoutMs(header, moduleMs, opts.defaultTimeoutMs);
      // The answer waits for the probe: its connection may be quiet that long.
      srv.timeout(req, Math.ceil(timeoutMs / 1000) + IDLE_S);
      const log = new ProbeLog();
      let run: Awaited<ReturnType<typeof runProbe>>;
      try {
        run = await runProbe(planned, opts.gate, timeoutMs, log);
      } catch (err) {
        if (err instanceof TargetRefused) throw new Refused(403, "not_allowed", err.message);
        throw err;
      }
      const regex = module !== undefined && ["expect", "expectPrefix", "match"].some((k) => k in module.options);
      const metrics = exposition(probeFamilies({ ...run, regex }));
      counters.probed(module?.name ?? protoOf(planned.target), run.result.ok, run.durationMs / 1000);
      if (!debug) return new Response(metrics, { headers: { "content-type": METRICS } });
      const text = [
        `Logs for the probe of ${targetText(planned.target)}:`,
        ...log.lines,
        "",
        "",
        "Metrics that would have been returned:",
        metrics,
        "",
        "Module configuration:",
        module ? shownModule(module) : `(none: the target's own ${protoOf(planned.target)} check)`,
        "",
      ].join("\n");
      const shown = redactIn(text).split("\n").map(escapeControl).join("\n");
      return new Response(shown, { headers: { "content-type": TEXT } });
    } finally {
      counters.inFlight--;
    }
  }

  return {
    hostname: server.hostname ?? opts.hostname,
    port: server.port ?? opts.port,
    counters,
    setModules(next) {
      modules = next;
      counters.reloaded(true);
    },
    reloadFailed: () => counters.reloaded(false),
    stop: () => server.stop(),
  };
}

/** refuseUsage runs a step whose UsageError is the request's mistake: a 400 with its one line. */
async function refuseUsage<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof UsageError) throw new Refused(400, "bad_request", err.message);
    throw err;
  }
}

/** one is a parameter given at most once: twice is a request that means two things. */
function one(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw new Refused(400, "bad_request", `${name}= is given ${all.length} times; give it once`);
  return all[0];
}

/** line is an answer of one line: what a person with curl and a log both read. */
function line(status: number, message: string): Response {
  return new Response(`${escapeControl(cut(redactIn(message), 300))}\n`, {
    status,
    headers: { "content-type": TEXT },
  });
}

/** page is / : the endpoints, and the modules this exporter knows. */
function page(modules: ReadonlyMap<string, Module>): string {
  const names = [...modules.keys()].map((n) => `<li><code>${n}</code></li>`).join("");
  return [
    "<!doctype html><html><head><title>upcat exporter</title></head><body>",
    "<h1>upcat exporter</h1>",
    '<p><a href="/probe?target=127.0.0.1:9115&amp;module=tcp&amp;debug=true">/probe?target=TARGET&amp;module=NAME</a>',
    " runs one check, as Blackbox's /probe does (add <code>&amp;debug=true</code> for its log).</p>",
    '<p><a href="/metrics">/metrics</a>: the exporter\'s own counters.</p>',
    `<p>Modules:</p><ul>${names}</ul>`,
    "</body></html>",
    "",
  ].join("\n");
}
