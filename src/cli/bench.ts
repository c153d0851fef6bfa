// `upcat bench`: load a UDP or TCP request/reply server and print replies a second and latency percentiles.
import type { CAC } from "cac";
import { type BenchProgress, type BenchResult, runBench } from "../bench/load.ts";
import { BenchWorkerError, benchAsWorker, type BenchWorkerPart, runWorkers } from "../bench/workers.ts";
import { UsageError } from "../errors.ts";
import { dialEach } from "../transport/dial-each.ts";
import { lowered, loweredText } from "../transport/open-files.ts";
import { parseTarget } from "../transport/target.ts";
import { MAX_DATAGRAM } from "../transport/transport.ts";
import { withClientHint } from "./client-hints.ts";
import type { Io } from "./io.ts";
import { parseCount, parseDuration, parseSize, parseWorkers } from "./option-values.ts";
import { workerArgv, workerPlan } from "../workers/pool.ts";

/** DEFAULTS are the options' defaults as a user types them, stated once for the help and the code. */
const DEFAULTS = { duration: "5s", timeout: "1s", concurrency: "32", size: "64", workers: "1" } as const;

/**
 * loadWorkers reads --workers: each worker needs one request in flight (or connection) at least, so auto takes no more
 * than --concurrency and a count above it is refused.
 */
function loadWorkers(value: unknown, concurrency: number): number {
  const workers = parseWorkers(value, concurrency);
  if (workers > concurrency)
    throw new UsageError(`--workers ${workers} is more than --concurrency ${concurrency}: each worker needs one`);
  return workers;
}

async function bench(targetArg: string | undefined, raw: Record<string, unknown>, io: Io): Promise<number> {
  if (raw.udp && raw.tcp) throw new UsageError("--udp and --tcp cannot be used together");
  const forced = raw.udp ? "udp" : raw.tcp ? "tcp" : undefined;
  const text = targetArg ?? "localhost:12000";
  const target = parseTarget(text, { transport: forced ?? "tcp", host: "localhost", port: 12000 });
  if (forced && target.transport !== forced)
    throw new UsageError(`${text} is a ${target.transport} target and cannot be used with --${forced}`);
  const durationMs = parseDuration(raw.duration ?? DEFAULTS.duration, "--duration");
  const timeoutMs = parseDuration(raw.timeout ?? DEFAULTS.timeout, "--timeout");
  const concurrency = parseCount(raw.concurrency ?? DEFAULTS.concurrency, "--concurrency", 10_000, 1);
  const size = parseSize(raw.size ?? DEFAULTS.size, "--size");
  if (target.transport === "udp" && size > MAX_DATAGRAM)
    throw new UsageError(`--size ${size} is more than a UDP datagram carries (${MAX_DATAGRAM})`);
  if (size > 1 << 24) throw new UsageError(`--size ${size} is more than 16m`);
  const workers = loadWorkers(raw.workers ?? DEFAULTS.workers, concurrency);
  const worker = workerPlan<BenchWorkerPart>();
  if (worker !== undefined) return benchAsWorker({ target, durationMs, concurrency, size, timeoutMs }, worker.part);
  const opts = {
    target,
    durationMs,
    concurrency: await fitConnections(target.transport, concurrency, workers, io),
    size,
    timeoutMs,
  };
  const live = !raw.json && io.statusLive;
  const onProgress = live
    ? (p: BenchProgress) =>
        io.status(
          `${(p.elapsedMs / 1000).toFixed(1)}s  ${p.replies} replies  ` +
            `${Math.round((p.replies / Math.max(p.elapsedMs, 1)) * 1000)}/s  ${p.errors} errors`,
        )
    : undefined;
  let result: BenchResult & { workers: number };
  try {
    // Resolved once, here: every worker loads the same address. As send and check do, the next address of a name
    // is tried when one refuses (nothing answered there at all).
    const ran = await dialEach(target.host, target.transport, (address) =>
      workers === 1
        ? runBench({ ...opts, address, onProgress })
        : runWorkers({ ...opts, onProgress }, address, workers, workerArgv()),
    );
    result = { ...ran, workers };
  } catch (err) {
    if (!(err instanceof BenchWorkerError)) throw err;
    if (live) io.status(undefined);
    io.err(`${io.errColor.red("upcat:")} ${err.message}`);
    return 1;
  }
  if (live) io.status(undefined);
  io.out(raw.json ? `${JSON.stringify(toJson(result))}\n` : show(result));
  await io.flush();
  // No reply at all is a failure a script must see; some errors among many replies are figures, not failure.
  return result.replies === 0 ? 1 : 0;
}

/**
 * fitConnections is --concurrency, lowered (and said) to the TCP connections each load process's open-file limit
 * holds: past it a connection cannot be made, and 379 of 500 came back as errors a server would be blamed for.
 */
async function fitConnections(transport: string, wanted: number, workers: number, io: Io): Promise<number> {
  const l = transport === "tcp" ? await lowered(wanted, { each: 1, reserved: 32, processes: workers }) : undefined;
  if (!l) return wanted;
  io.err(`upcat: ${loweredText("--concurrency", l, "each load process")}`);
  return l.to;
}

function toJson(r: BenchResult & { workers: number }) {
  return {
    target: r.target,
    proto: r.transport,
    address: r.address,
    concurrency: r.concurrency,
    workers: r.workers,
    size: r.size,
    duration_ms: r.durationMs,
    requests: r.requests,
    replies: r.replies,
    errors: r.errors,
    bytes_in: r.bytesIn,
    rate: r.rate,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    max_ms: r.latency.max,
    mean_ms: r.latency.mean,
  };
}

function show(r: BenchResult & { workers: number }): string {
  return [
    `${r.target} (${r.address}), ${r.concurrency} ${r.transport === "udp" ? "in flight" : "connections"}` +
      `${r.workers > 1 ? ` over ${r.workers} workers` : ""}, ${r.size}-byte requests, ` +
      `${(r.durationMs / 1000).toFixed(1)}s`,
    `${r.rate} replies/s   ${r.replies} replies   ${r.errors} errors`,
    `latency ms   p50 ${r.latency.p50}   p99 ${r.latency.p99}   max ${r.latency.max}`,
    "",
  ].join("\n");
}

export function registerBench(cli: CAC, io: Io): void {
  cli
    .command("bench [target]", "Load a request/reply server (upper, echo) and print replies/s and latency p50/p99/max")
    .option("--udp", "Bench over UDP (as udp://host:port)")
    .option("--tcp", "Bench over TCP (the default for host:port)")
    .option("--duration <duration>", "How long to send requests", { default: DEFAULTS.duration })
    .option("--concurrency <n>", "UDP requests in flight, or TCP connections, each with one request outstanding", {
      default: DEFAULTS.concurrency,
    })
    .option("--size <size>", "Bytes a request", { default: DEFAULTS.size })
    .option(
      "--workers <n>",
      "Load processes sharing --concurrency, each with its own source ports (auto: one a core)",
      {
        default: DEFAULTS.workers,
      },
    )
    .option(
      "--timeout <duration>",
      "A UDP request unanswered this long is lost (and counted); a TCP reply this late fails its connection",
      { default: DEFAULTS.timeout },
    )
    .option("--json", "Print one JSON object: rate, replies, errors, p50_ms, p99_ms, max_ms")
    .example("  upcat bench udp://127.0.0.1:12000 --duration 5s --concurrency 32")
    .example("  upcat bench 127.0.0.1:7 --concurrency 100 --json | jq .rate")
    .example("  upcat bench udp://127.0.0.1:12000 --workers auto --concurrency 64")
    .action((target: string | undefined, options: Record<string, unknown>) =>
      bench(target, options, io).catch((err) => {
        throw withClientHint(err);
      }),
    );
}
