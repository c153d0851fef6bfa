// `upcat serve`: the textbook's servers, and the RFC services, on UDP and TCP at once, until SIGINT or SIGTERM.
import type { CAC } from "cac";
import { UsageError } from "../errors.ts";
import { protocolNamed } from "../protocol/index.ts";
import type { Protocol } from "../protocol/protocol.ts";
import { MAX_QUOTES_FILE, parseQuotes, qotd } from "../protocol/qotd.ts";
import { parseAllowList, type AllowList } from "../transport/allow-list.ts";
import { drain, openConnections } from "../transport/drain.ts";
import {
  ALL_INTERFACES,
  DEFAULT_LIMITS,
  DEFAULT_UDP_EXCESS,
  DEFAULT_UDP_RATE,
  DEFAULT_UDP_REPLY_RATE,
  type Limits,
  type Listener,
} from "../transport/listener.ts";
import { OutputBudget } from "../transport/output-budget.ts";
import { newBudgets } from "../transport/gate.ts";
import { serveProtocol } from "../transport/serve.ts";
import { parsePort } from "../transport/target.ts";
import type { Transport } from "../transport/transport.ts";
import type { Io } from "./io.ts";
import { readSmallFile, shownPath } from "./read-input.ts";
import { formatDuration, formatSize, parseCount, parseDuration, parseSize, parseWorkers } from "./option-values.ts";
import { type LogFormat, ServeLog, sum } from "./serve-log.ts";
import { PORTS_ENV, superviseWorkers, WORKER_ENV, WORKER_REPORT_MS, workForParent } from "./serve-workers.ts";
import { quote } from "../text/shown.ts";

/** Service is one protocol to serve and the port it gets. */
interface Service {
  protocol: Protocol;
  port: number;
}

interface ServeOptions {
  services: Service[];
  host: string;
  transports: Transport[];
  allow: AllowList | undefined;
  udpRate: number;
  udpReplyRate: number;
  udpExcess: number;
  limits: Limits;
  drainMs: number;
  statsMs: number | undefined;
  log: LogFormat;
  /** workers is how many processes serve the same ports (1: this one). */
  workers: number;
}

const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** list reads a repeatable option: cac gives one value as a string and several as an array. */
function list(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** DRAIN_MS is how long connections in progress may finish after SIGINT or SIGTERM. */
const DRAIN_MS = 5000;

/** DEFAULTS are the options' defaults as a user types them, each written from the one constant that holds it. */
const DEFAULTS = {
  protocol: "upper",
  udpReplyRate: String(DEFAULT_UDP_REPLY_RATE),
  udpRate: String(DEFAULT_UDP_RATE),
  udpExcess: formatSize(DEFAULT_UDP_EXCESS),
  maxConnections: String(DEFAULT_LIMITS.maxConnections),
  maxPerAddress: String(DEFAULT_LIMITS.maxPerAddress),
  idleTimeout: formatDuration(DEFAULT_LIMITS.idleTimeoutMs),
  maxLifetime: formatDuration(DEFAULT_LIMITS.maxLifetimeMs),
  maxPending: formatSize(DEFAULT_LIMITS.maxPending),
  maxOutput: formatSize(DEFAULT_LIMITS.maxOutput),
  drain: formatDuration(DRAIN_MS),
  workers: "1",
  log: "text",
} as const;

/** toServeOptions checks the options together, before any socket opens. */
export async function toServeOptions(raw: Record<string, unknown>): Promise<ServeOptions> {
  if (Array.isArray(raw.host) || Array.isArray(raw.port))
    throw new UsageError("--host and --port can be given once each");
  if (Array.isArray(raw.quotes) || Array.isArray(raw.udpRate))
    throw new UsageError("--quotes and --udp-rate can be given once each");
  const host = String(raw.host ?? ALL_INTERFACES);
  if (host === "" || /\s/.test(host)) throw new UsageError(`invalid --host ${quote(host)}`);
  const transports: Transport[] = raw.udp && !raw.tcp ? ["udp"] : raw.tcp && !raw.udp ? ["tcp"] : ["udp", "tcp"];

  const names = list(raw.protocol);
  if (names.length === 0) names.push("upper");
  if (names.length > 1 && raw.port !== undefined) {
    throw new UsageError("--port is for one protocol; give each its port as --protocol NAME=PORT");
  }
  if (raw.quotes !== undefined && !names.some((n) => n.split("=")[0] === "qotd"))
    throw new UsageError("--quotes is for --protocol qotd");
  const quotes = raw.quotes === undefined ? undefined : readQuotes(String(raw.quotes));
  const services = names.map((spec): Service => {
    const [name = "", portText] = spec.split("=");
    const known = protocolNamed(name);
    const protocol = name === "qotd" && quotes ? qotd(quotes) : known;
    const port =
      portText !== undefined
        ? parsePort(portText, true)
        : raw.port !== undefined
          ? parsePort(raw.port as string, true)
          : protocol.port;
    return { protocol, port };
  });
  const seen = new Set<string>();
  for (const s of services) {
    if (seen.has(s.protocol.name)) throw new UsageError(`--protocol ${s.protocol.name} is given twice`);
    seen.add(s.protocol.name);
  }
  const ports = services.map((s) => s.port).filter((p) => p !== 0);
  if (new Set(ports).size !== ports.length)
    throw new UsageError("two protocols cannot share a port; give each its own as --protocol NAME=PORT");

  for (const name of [
    "udpReplyRate",
    "udpExcess",
    "maxConnections",
    "maxPerAddress",
    "idleTimeout",
    "maxLifetime",
    "maxPending",
    "maxOutput",
    "drain",
    "stats",
    "log",
  ]) {
    if (Array.isArray(raw[name]))
      throw new UsageError(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} can be given once`);
  }
  const log = raw.quiet ? "quiet" : String(raw.log ?? DEFAULTS.log);
  if (log !== "quiet" && !LOG_FORMATS.includes(log as LogFormat))
    throw new UsageError(`invalid --log ${quote(log)} (expected text or json)`);
  return {
    services,
    host,
    transports,
    allow: parseAllowList(list(raw.allow)),
    udpRate: parseCount(raw.udpRate ?? DEFAULTS.udpRate, "--udp-rate", 1_000_000),
    udpReplyRate: parseCount(raw.udpReplyRate ?? DEFAULTS.udpReplyRate, "--udp-reply-rate", 100_000_000),
    udpExcess: sizeOrZero(raw.udpExcess ?? DEFAULTS.udpExcess, "--udp-excess"),
    limits: {
      maxConnections: Math.max(
        1,
        parseCount(raw.maxConnections ?? DEFAULTS.maxConnections, "--max-connections", 1_000_000),
      ),
      maxPerAddress: parseCount(raw.maxPerAddress ?? DEFAULTS.maxPerAddress, "--max-per-address", 1_000_000),
      idleTimeoutMs: durationOrZero(raw.idleTimeout ?? DEFAULTS.idleTimeout, "--idle-timeout"),
      maxLifetimeMs: durationOrZero(raw.maxLifetime ?? DEFAULTS.maxLifetime, "--max-lifetime"),
      maxPending: parseSize(raw.maxPending ?? DEFAULTS.maxPending, "--max-pending"),
      maxOutput: parseSize(raw.maxOutput ?? DEFAULTS.maxOutput, "--max-output"),
    },
    drainMs: durationOrZero(raw.drain ?? DEFAULTS.drain, "--drain"),
    statsMs: raw.stats === undefined ? undefined : parseDuration(raw.stats, "--stats"),
    log: log as LogFormat,
    workers: workersHere(raw.workers ?? DEFAULTS.workers),
  };
}

/** workersHere reads --workers; above 1 it needs Linux's SO_REUSEPORT spreading. */
function workersHere(value: unknown): number {
  const workers = parseWorkers(value);
  if (workers > 1 && process.platform !== "linux") {
    throw new UsageError(
      `--workers above 1 needs SO_REUSEPORT's load spreading, which only Linux has (this is ${process.platform})`,
    );
  }
  return workers;
}

/** durationOrZero reads a duration where 0 means "not at all" (no idle timeout, no drain). */
function durationOrZero(value: unknown, option: string): number {
  return String(value) === "0" ? 0 : parseDuration(value, option);
}

/** sizeOrZero reads a size where 0 means "none at all" (--udp-excess 0: no reply larger than its request). */
function sizeOrZero(value: unknown, option: string): number {
  return String(value) === "0" ? 0 : parseSize(value, option);
}

/** readQuotes reads --quotes: a regular file of at most MAX_QUOTES_FILE bytes (readSmallFile says why). */
function readQuotes(path: string): string[] {
  let bytes: Uint8Array;
  try {
    bytes = readSmallFile(path, "--quotes", MAX_QUOTES_FILE);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read --quotes ${shownPath(path)}: ${(err as { code?: string }).code ?? String(err)}`);
  }
  return parseQuotes(new TextDecoder().decode(bytes), path);
}

/** serve runs the servers and resolves with the exit status once a signal has stopped them. */
async function serve(raw: Record<string, unknown>, io: Io): Promise<number> {
  const opts = await toServeOptions(raw);
  const worker = process.env[WORKER_ENV];
  if (worker !== undefined) return serveAsWorker(opts, Number(worker), io);
  if (opts.workers > 1) {
    const ports = await choosePorts(opts);
    return superviseWorkers(
      { workers: opts.workers, ports, log: opts.log, allow: opts.allow?.text, statsMs: opts.statsMs },
      io,
      () => nextSignal(),
    );
  }
  const log = new ServeLog(io, opts.log);
  const servers = await listen(opts, log, false);
  const counters = () => sum(servers.listeners.map((l) => l.counters));
  const first = nextSignal();
  log.listening(servers.running, opts.allow?.text);
  const ticker = opts.statsMs === undefined ? undefined : setInterval(() => log.stats(counters()), opts.statsMs);

  const signal = await first;
  clearInterval(ticker);
  // A second signal cuts the drain short.
  log.draining(openConnections(servers.listeners), opts.drainMs);
  const cut = await drain(servers.listeners, opts.drainMs, nextSignal());
  log.stopped(signal, cut, counters());
  await io.flush();
  return 0;
}

/**
 * serveAsWorker is one of `serve --workers`'s processes: it binds the parent's ports with SO_REUSEPORT,
 * tells the parent what it does over IPC, logs its own connections (json) with its index, and stops
 * on the parent's SIGTERM alone (a terminal's Ctrl-C reaches the whole group: the parent decides).
 */
async function serveAsWorker(opts: ServeOptions, index: number, io: Io): Promise<number> {
  const ports = JSON.parse(process.env[PORTS_ENV] ?? "{}") as Record<string, number>;
  const services = opts.services.map((s) => ({ ...s, port: ports[s.protocol.name] ?? s.port }));
  const log = new ServeLog(io, opts.log === "json" ? "json" : "quiet", { worker: index });
  const servers = await listen({ ...opts, services }, log, true);
  return workForParent(
    {
      running: servers.running,
      counters: () => sum(servers.listeners.map((l) => l.counters)),
      reportMs: opts.statsMs ?? WORKER_REPORT_MS,
      drain: (cutShort) => drain(servers.listeners, opts.drainMs, cutShort),
    },
    io,
    nextSignal,
  );
}

/** listen binds every service on every transport asked for, with the process's shared bounds, or none of them. */
async function listen(
  opts: ServeOptions,
  log: ServeLog,
  reusePort: boolean,
): Promise<{ running: { protocol: string; listeners: Listener[] }[]; listeners: Listener[] }> {
  const running: { protocol: string; listeners: Listener[] }[] = [];
  // The bounds are the process's, not each listener's: serving more protocols must not multiply them.
  const output = new OutputBudget(opts.limits.maxOutput);
  const budgets = newBudgets(opts);
  try {
    for (const { protocol, port } of opts.services) {
      const listenOpts = {
        host: opts.host,
        port,
        limits: opts.limits,
        output,
        budgets,
        onEvent: log.event,
        reusePort,
      };
      running.push({ protocol: protocol.name, listeners: await serveProtocol(protocol, opts.transports, listenOpts) });
    }
  } catch (err) {
    for (const r of running) for (const l of r.listeners) l.stop();
    throw err;
  }
  return { running, listeners: running.flatMap((r) => r.listeners) };
}

/**
 * choosePorts binds each service's port once, alone, and lets it go before the workers start: a
 * port given as 0 gets one free port, the same for UDP and TCP, that every worker then binds; a port
 * that another server holds fails here with "address already in use" (with SO_REUSEPORT, a second
 * upcat serve --workers would otherwise join the first and take half its traffic, unseen).
 */
async function choosePorts(opts: ServeOptions): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  for (const { protocol, port } of opts.services) {
    const held = await serveProtocol(protocol, opts.transports, { host: opts.host, port, udpReplyRate: 0 });
    ports[protocol.name] = held[0]!.port;
    for (const l of held) l.stop();
  }
  return ports;
}

/** nextSignal resolves with the name of the next of these signals (SIGINT or SIGTERM). */
export function nextSignal(names: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"]): Promise<string> {
  return new Promise<string>((resolve) => {
    const handlers = names.map((name) => {
      const handler = () => {
        for (const [n, h] of handlers) process.off(n, h);
        resolve(name);
      };
      return [name, handler] as const;
    });
    for (const [n, h] of handlers) process.on(n, h);
  });
}

export function registerServe(cli: CAC, io: Io): void {
  cli
    .command("serve", "Run servers: the uppercase protocol on UDP and TCP port 12000, or the RFC services")
    .option("--udp", "Serve UDP only")
    .option("--tcp", "Serve TCP only")
    .option("--host <address>", "Address to bind (default: :: for all interfaces, IPv6 and IPv4)")
    .option("--port <port>", "Port to bind, 0 for any free port (default: the protocol's, 12000 for upper)")
    .option("--protocol <name[=port]>", "Protocol to serve, repeatable, each on its own port (see `upcat protocols`)", {
      default: DEFAULTS.protocol,
    })
    .option("--quotes <file>", "Quotes for qotd: one a line, or fortune's %-separated form")
    .option("--allow <cidr>", "Serve only these addresses, repeatable (others: no UDP reply, TCP closed at once)")
    .option(
      "--udp-reply-rate <n>",
      "UDP replies of any size per source prefix (/24, /56) a second; bounds loops (0: no limit)",
      { default: DEFAULTS.udpReplyRate },
    )
    .option(
      "--udp-rate <n>",
      "UDP replies larger than their request, per source prefix (/24, /56) a second (0: none)",
      { default: DEFAULTS.udpRate },
    )
    .option(
      "--udp-excess <size>",
      "Bytes a second that UDP replies may add over their requests, all sources together (0: none)",
      { default: DEFAULTS.udpExcess },
    )
    .option("--max-connections <n>", "Open TCP connections at most; more are closed at once and counted", {
      default: DEFAULTS.maxConnections,
    })
    .option(
      "--max-per-address <n>",
      "Open TCP connections per address (IPv4, IPv6 /64); more are closed at once (0: no cap)",
      { default: DEFAULTS.maxPerAddress },
    )
    .option("--idle-timeout <duration>", "Close a TCP connection where nothing moved for this long (0: never)", {
      default: DEFAULTS.idleTimeout,
    })
    .option("--max-lifetime <duration>", "Close a TCP connection open this long, however it trickles (0: never)", {
      default: DEFAULTS.maxLifetime,
    })
    .option("--max-pending <size>", "Output a slow reader may leave unsent before the server stops reading it", {
      default: DEFAULTS.maxPending,
    })
    .option(
      "--max-output <size>",
      "Output queued for all slow readers together: within one read (512k) of it, no connection is read (new ones " +
        "wait) until it drains to half; --idle-timeout frees those that never read",
      { default: DEFAULTS.maxOutput },
    )
    .option(
      "--drain <duration>",
      "On SIGINT/SIGTERM, let connections finish for this long (a second signal: at once)",
      { default: DEFAULTS.drain },
    )
    .option("--log <format>", "text: a ready line and a last line; json: one JSON object per event", {
      default: DEFAULTS.log,
    })
    .option("--stats <duration>", "Print a summary line (connections, datagrams, bytes, refusals) this often")
    .option("--workers <n>", "Processes serving the same ports, one a core (auto: every core; Linux, SO_REUSEPORT)", {
      default: DEFAULTS.workers,
    })
    .option("--quiet", "Print nothing on stderr (wins over --log)")
    .example("  upcat serve                  # uppercase on udp and tcp port 12000")
    .example("  upcat serve --tcp --port 9000 --host 127.0.0.1")
    .example("  upcat serve --protocol echo --protocol daytime        # ports 7 and 13 (root)")
    .example("  upcat serve --protocol time=3700 --protocol qotd=1700 --allow 10.0.0.0/8")
    .action((options: Record<string, unknown>) => serve(options, io));
}
