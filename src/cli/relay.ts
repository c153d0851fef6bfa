// `upcat relay LISTEN TARGET`: socat's relay, TCP or UDP, with faults on purpose; runs until SIGINT or SIGTERM.
import type { CAC } from "cac";
import { NetError, REASONS, UsageError } from "../errors.ts";
import { parseEnds } from "../relay/ends.ts";
import { REORDER_HOLD_MS } from "../relay/datagram-pipe.ts";
import { BARE_VALUE, CHUNK_MAX, type FaultOptionValues, parseFaults, REORDER_MAX } from "../relay/fault-options.ts";
import { describeFaults, type Faults } from "../relay/faults.ts";
import { type RelayCounts, type RelayEvent, type RelayOptions, startRelay, sumRelayCounts } from "../relay/relay.ts";
import { CHUNK_GAP_MS } from "../relay/stream-pipe.ts";
import { hostPort, resolveHost } from "../transport/address.ts";
import { newBudgets } from "../transport/gate.ts";
import type { Counters } from "../transport/listener.ts";
import type { Transport } from "../transport/transport.ts";
import type { OptionalValue } from "./argv.ts";
import type { Io } from "./io.ts";
import { parseCount } from "./option-values.ts";
import { runServer, type ServerProgram } from "./run-server.ts";
import { type LogFormat, LineWindow, type ServeLog, sum } from "./serve-log.ts";
import { addServerOptions, durationOrZero, fitOpenFiles, readServerOptions } from "./server-options.ts";
import { workerPlan } from "../workers/pool.ts";

const FAULTS = ["delay", "bandwidth", "loss", "duplicate", "reorder", "chunk", "resetAfter", "stallAfter"] as const;
/** DEFAULT_CONNECT_TIMEOUT: how long a TCP target may take to accept before the client is reset (ETIMEDOUT). */
const DEFAULT_CONNECT_TIMEOUT = "10s";
/** SEED_MAX: a seed is 32 bits. */
const SEED_MAX = 2 ** 32 - 1;
/** RelayPart is what the parent gives its workers: the target's address and the seed (one name lookup, one seed). */
interface RelayPart {
  target: string;
  seed: number;
}

/** Totals are what a relay counts: serve's Counters and the relay's own tallies, summed over the workers. */
interface Totals {
  counters: Counters;
  relay: RelayCounts;
}

/**
 * relay reads and checks the command line, then runs the relay alone, as the parent of `--workers`, or as one of
 * its workers; it resolves with the exit status once a signal has stopped it.
 */
async function relay(listenText: string, targetText: string, raw: Record<string, unknown>, io: Io): Promise<number> {
  // Everything is checked before any socket opens or any name is looked up.
  const ends = parseEnds(String(listenText), String(targetText));
  const asked = readServerOptions(raw);
  if (Array.isArray(raw.seed) || Array.isArray(raw.connectTimeout))
    throw new UsageError("--seed and --connect-timeout can be given once each");
  const connectTimeoutMs = durationOrZero(raw.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT, "--connect-timeout");
  const seedGiven =
    raw.seed === undefined ? Math.floor(Math.random() * SEED_MAX) : parseCount(raw.seed, "--seed", SEED_MAX);
  // A worker forwards to the parent's address, with the parent's seed moved on by its index (streams of its own).
  const worker = workerPlan<Partial<RelayPart>>();
  const seed = worker === undefined ? seedGiven : (Number(worker.part.seed) + worker.index) >>> 0;
  const faultValues: FaultOptionValues = Object.fromEntries(FAULTS.map((k) => [k, raw[k]]));
  const faults = parseFaults(faultValues, ends.transport, seed);
  const bounds = await fitOpenFiles(asked, raw, 2, io);

  const address = worker?.part.target ?? (await resolveHost(ends.target.host, ends.transport))[0]!;
  const target = { host: address, port: ends.target.port };
  const targetShown =
    ends.target.host === address
      ? hostPort(address, target.port)
      : `${hostPort(ends.target.host, target.port)} (${address})`;
  const options: RelayOptions = {
    transport: ends.transport,
    listen: { host: ends.listen.host, port: ends.listen.port },
    target,
    limits: bounds.limits,
    // --allow, the admission limits and the UDP reply budget, built once for this process as serve builds them.
    budgets: newBudgets(bounds),
    connectTimeoutMs,
    faults,
  };
  const program: ServerProgram<Totals> = {
    bounds,
    async bind(log, at) {
      const tag = at.worker === undefined ? {} : { worker: at.worker };
      const say = eventPrinter(io, log, bounds.log, tag);
      const running = await bindRelay({
        ...options,
        listen: { ...options.listen, port: at.ports?.relay ?? options.listen.port },
        reusePort: at.worker !== undefined,
        onEvent: bounds.log === "quiet" ? undefined : say,
      });
      const { transport, host, port } = running;
      return {
        running: [{ protocol: "relay", listeners: [{ transport, host, port }] }],
        listeners: [running],
        counters: () => ({ counters: running.counters, relay: running.relay }),
        // A UDP session has nothing to finish: only TCP connections are drained.
        open: () => (transport === "tcp" ? running.counters.open : 0),
      };
    },
    async choosePorts() {
      const held = await bindRelay({ ...options, faults: undefined });
      held.stop();
      return { relay: held.port };
    },
    voice: (log) => ({
      sum: (all) => ({ counters: sum(all.map((t) => t.counters)), relay: sumRelayCounts(all.map((t) => t.relay)) }),
      listening: (running, workers) =>
        ready(io, bounds.log, running[0]!.listeners[0]!, targetShown, bounds.allow?.text, faults, workers),
      stats: (total) => log.stats(total.counters),
      stopped(signal, cut, total, restarts) {
        log.stopped(signal, cut, total.counters, restarts);
        summary(io, bounds.log, ends.transport, total.relay);
      },
    }),
    exposed: (t) => ({ server: t.counters, relay: t.relay }),
    part: { target: address, seed } satisfies RelayPart,
  };
  return runServer(program, io);
}

/** bindRelay starts the relay; a LISTEN port in use is explained in the relay's terms. */
async function bindRelay(options: RelayOptions) {
  try {
    return await startRelay(options);
  } catch (err) {
    // bindOrExplain's hint names serve's --port; a relay's port is in LISTEN.
    if (err instanceof NetError && err.code === "EADDRINUSE")
      throw new NetError({ ...err.fields(), hint: "is another server running? pick another LISTEN port" });
    throw err;
  }
}

/**
 * ready is the line that says the relay is up, where it listens and forwards, and the faults in force with their seed.
 */
function ready(
  io: Io,
  format: LogFormat,
  r: { transport: Transport; host: string; port: number },
  target: string,
  allow: string | undefined,
  faults: Faults,
  workers = 1,
): void {
  const names = describeFaults(faults);
  if (format === "json") {
    io.err(
      JSON.stringify({
        time: new Date().toISOString(),
        event: "listening",
        protocol: "relay",
        transport: r.transport,
        address: r.host,
        port: r.port,
        target,
        allow,
        faults: names,
        seed: faults.seed,
        ...(workers > 1 ? { workers } : {}),
      }),
    );
  } else if (format === "text") {
    const what = names.length === 0 ? "" : ` with ${names.join(", ")} (seed ${faults.seed})`;
    io.err(
      `upcat: relaying ${r.transport} ${hostPort(r.host, r.port)} to ` +
        `${target}${allow ? ` for ${allow}` : ""}${what}${workers > 1 ? ` with ${workers} workers` : ""} ` +
        "(Ctrl-C to stop)",
    );
  }
}

/** summary is the relay's last line beside serve's: what each direction carried and what the faults did. */
function summary(io: Io, format: LogFormat, transport: Transport, c: RelayCounts): void {
  const unit = transport === "tcp" ? "bytes" : "datagrams";
  if (format === "json") {
    io.err(
      JSON.stringify({
        time: new Date().toISOString(),
        event: "relay",
        unit,
        up: c.up,
        down: c.down,
        target_failed: c.targetFailed,
        resets: c.resets,
        stalls: c.stalls,
        duplicated: c.duplicated,
        reordered: c.reordered,
      }),
    );
  } else if (format === "text") {
    const dir = (name: string, t: typeof c.up) =>
      `${name} ${t.forwarded} ${unit} forwarded${t.dropped > 0 ? ` (${t.dropped} dropped)` : ""}`;
    const extra = [
      ["target failures", c.targetFailed],
      ["resets", c.resets],
      ["stalls", c.stalls],
      ["duplicated", c.duplicated],
      ["reordered", c.reordered],
    ]
      .filter(([, n]) => n !== 0)
      .map(([k, n]) => `${k} ${n}`);
    io.err(
      `upcat: relayed ${dir("up", c.up)}, ${dir("down", c.down)}${extra.length > 0 ? `; ${extra.join(", ")}` : ""}`,
    );
  }
}

/**
 * eventPrinter writes the relay's events: with --log json every open and close (bytes both ways,
 * faults, why it ended) and the limit hits (summarised past a rate, as serve does); as text, only
 * a target that refused or reset, at most LIMIT_LINES_PER_SECOND (serve-log.ts) lines a second.
 */
function eventPrinter(
  io: Io,
  log: ServeLog,
  format: LogFormat,
  tag: Record<string, unknown> = {},
): (e: RelayEvent) => void {
  const window = new LineWindow();
  let held = 0;
  return (e) => {
    if (e.event === "limit") return log.event?.(e);
    if (format === "json") return io.err(JSON.stringify({ time: new Date().toISOString(), ...tag, ...e }));
    if (format !== "text" || e.event !== "close" || e.reason !== "target") return;
    if (!window.admit(performance.now())) return void held++;
    const why = (e.error && REASONS[e.error]) ?? e.error ?? "closed";
    const more = held > 0 ? ` (${held} more not shown)` : "";
    held = 0;
    const client = e.transport === "tcp" ? "client reset" : "session closed";
    io.err(`upcat: relay ${e.transport} ${hostPort(e.peer, e.port)} to ${e.target}: ${why} (${client})${more}`);
  };
}

export function registerRelay(cli: CAC, io: Io): void {
  // The value, when there is one, comes right after the option: `--duplicate 5%`, `--reorder down:3`.
  const optional: OptionalValue = { value: BARE_VALUE };
  const command = cli.command(
    "relay <LISTEN> <TARGET>",
    "Relay TCP or UDP from LISTEN to TARGET, with faults on purpose (delay, loss, resets...)",
  );
  addServerOptions(command, "relay", [
    "allow",
    "maxConnections",
    "maxPerAddress",
    "idleTimeout",
    "maxLifetime",
    "udpReplyRate",
    "udpRate",
    "udpExcess",
    "maxPending",
    "maxOutput",
    "drain",
    "log",
  ]).option(
    "--connect-timeout <duration>",
    "A TCP target that has not accepted within this long: the client is reset, logged as ETIMEDOUT (0: the " +
      "kernel's, about 2m)",
    { default: DEFAULT_CONNECT_TIMEOUT },
  );
  addServerOptions(command, "relay", ["stats", "metrics", "quiet", "workers"])
    .option(
      "--delay <[dir:]time[±jitter]>",
      "Hold each chunk or datagram this long, e.g. 50ms or 50ms±10ms (+- for ±) [tcp, udp]",
    )
    .option(
      "--bandwidth <[dir:]size>",
      "Bytes a second each connection or session may move this way, e.g. 64k or 1m [tcp, udp]",
    )
    .option("--loss <[dir:]percent>", "Drop this share of datagrams, e.g. 1% [udp]")
    .option(
      "--duplicate [[dir:]percent]",
      "Send this share of datagrams twice, e.g. 5%; alone, every datagram both ways (100%) [udp]",
      optional,
    )
    .option(
      "--reorder [[dir:]n]",
      `Let datagrams go in groups of n (2 to ${REORDER_MAX}), newest first; alone, pairs both ways (2); a group ` +
        `not filled in ${REORDER_HOLD_MS}ms goes as it is [udp]`,
      optional,
    )
    .option(
      "--chunk <[dir:]size>",
      `Write at most this many bytes (up to ${CHUNK_MAX}) at a time, ${CHUNK_GAP_MS}ms apart: tiny segments [tcp]`,
    )
    .option(
      "--reset-after <[dir:]size|time>",
      "Reset both sides (RST) once this many bytes went this way, or this long after the open [tcp]",
    )
    .option(
      "--stall-after <[dir:]size|time>",
      "Stop forwarding this way (TCP: and stop reading the sender) after this many bytes, or this long [tcp, udp]",
    )
    .option(
      "--seed <n>",
      "Seed for --loss, --duplicate and jitter, to replay a run (default: random, printed in the ready line)",
    )
    .example("  upcat relay :8080 backend:80                          # socat TCP-LISTEN:8080,fork TCP:backend:80")
    .example("  upcat relay udp://:5353 udp://dns.internal:53 --loss 5%")
    .example("  upcat relay udp://:6000 udp://game:6000 --duplicate --reorder down:3")
    .example("  upcat relay 127.0.0.1:6000 db:5432 --delay down:50ms±10ms --bandwidth up:64k")
    .example("  upcat relay :9000 :9001 --reset-after down:1mb --log json")
    .example("")
    .example(
      "Each fault applies both ways, or one way with a prefix: up: is client to TARGET, down: is TARGET to client.",
    )
    .example("A size is 65536, 64k, 1mb; a time needs ms, s or h (a lone m could be minutes or megabytes: refused).")
    .action((listen: string, target: string, options: Record<string, unknown>) => relay(listen, target, options, io));
}
