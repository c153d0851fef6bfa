// `upcat serve`: the textbook's servers, and the RFC services, on UDP and TCP at once, until SIGINT or SIGTERM.
import type { CAC } from "cac";
import { UsageError } from "../errors.ts";
import { protocolNamed } from "../protocol/index.ts";
import type { Protocol } from "../protocol/protocol.ts";
import { parseQuotes, qotd } from "../protocol/qotd.ts";
import { parseAllowList, type AllowList } from "../transport/allow-list.ts";
import { drain, openConnections } from "../transport/drain.ts";
import { ALL_INTERFACES, DEFAULT_LIMITS, DEFAULT_UDP_RATE, type Limits } from "../transport/listener.ts";
import { serveProtocol } from "../transport/serve.ts";
import { parsePort } from "../transport/target.ts";
import type { Transport } from "../transport/transport.ts";
import type { Io } from "./io.ts";
import { parseCount, parseDuration, parseSize } from "./option-values.ts";
import { type LogFormat, type Running, ServeLog, sum } from "./serve-log.ts";

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
  limits: Limits;
  drainMs: number;
  statsMs: number | undefined;
  log: LogFormat;
}

const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** list reads a repeatable option: cac gives one value as a string and several as an array. */
function list(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** toServeOptions checks the options together, before any socket opens. */
async function toServeOptions(raw: Record<string, unknown>): Promise<ServeOptions> {
  if (Array.isArray(raw.host) || Array.isArray(raw.port)) throw new UsageError("--host and --port can be given once each");
  if (Array.isArray(raw.quotes) || Array.isArray(raw.udpRate)) throw new UsageError("--quotes and --udp-rate can be given once each");
  const host = String(raw.host ?? ALL_INTERFACES);
  if (host === "" || /\s/.test(host)) throw new UsageError(`invalid --host "${host}"`);
  const transports: Transport[] = raw.udp && !raw.tcp ? ["udp"] : raw.tcp && !raw.udp ? ["tcp"] : ["udp", "tcp"];

  const names = list(raw.protocol);
  if (names.length === 0) names.push("upper");
  if (names.length > 1 && raw.port !== undefined) {
    throw new UsageError("--port is for one protocol; give each its port as --protocol NAME=PORT");
  }
  if (raw.quotes !== undefined && !names.some((n) => n.split("=")[0] === "qotd")) throw new UsageError("--quotes is for --protocol qotd");
  const quotes = raw.quotes === undefined ? undefined : await readQuotes(String(raw.quotes));
  const services = names.map((spec): Service => {
    const [name = "", portText] = spec.split("=");
    const known = protocolNamed(name);
    const protocol = name === "qotd" && quotes ? qotd(quotes) : known;
    const port = portText !== undefined ? parsePort(portText, true) : raw.port !== undefined ? parsePort(raw.port as string, true) : protocol.port;
    return { protocol, port };
  });
  const seen = new Set<string>();
  for (const s of services) {
    if (seen.has(s.protocol.name)) throw new UsageError(`--protocol ${s.protocol.name} is given twice`);
    seen.add(s.protocol.name);
  }
  const ports = services.map((s) => s.port).filter((p) => p !== 0);
  if (new Set(ports).size !== ports.length) throw new UsageError("two protocols cannot share a port; give each its own as --protocol NAME=PORT");

  for (const name of ["maxConnections", "idleTimeout", "maxPending", "drain", "stats", "log"]) {
    if (Array.isArray(raw[name])) throw new UsageError(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} can be given once`);
  }
  const log = raw.quiet ? "quiet" : String(raw.log ?? "text");
  if (log !== "quiet" && !LOG_FORMATS.includes(log as LogFormat)) throw new UsageError(`invalid --log "${log}" (expected text or json)`);
  return {
    services,
    host,
    transports,
    allow: parseAllowList(list(raw.allow)),
    udpRate: raw.udpRate === undefined ? DEFAULT_UDP_RATE : parseCount(raw.udpRate, "--udp-rate", 1_000_000),
    limits: {
      maxConnections: Math.max(1, parseCount(raw.maxConnections ?? DEFAULT_LIMITS.maxConnections, "--max-connections", 1_000_000)),
      idleTimeoutMs: durationOrZero(raw.idleTimeout ?? "5m", "--idle-timeout"),
      maxPending: parseSize(raw.maxPending ?? DEFAULT_LIMITS.maxPending, "--max-pending"),
    },
    drainMs: durationOrZero(raw.drain ?? "5s", "--drain"),
    statsMs: raw.stats === undefined ? undefined : parseDuration(raw.stats, "--stats"),
    log: log as LogFormat,
  };
}

/** durationOrZero reads a duration where 0 means "not at all" (no idle timeout, no drain). */
function durationOrZero(value: unknown, option: string): number {
  return String(value).trim() === "0" ? 0 : parseDuration(value, option);
}

async function readQuotes(path: string): Promise<string[]> {
  const file = Bun.file(path);
  let text: string;
  try {
    text = await file.text();
  } catch (err) {
    throw new UsageError(`cannot read --quotes ${path}: ${(err as { code?: string }).code ?? String(err)}`);
  }
  return parseQuotes(text, path);
}

/** serve runs the servers and resolves with the exit status once a signal has stopped them. */
async function serve(raw: Record<string, unknown>, io: Io): Promise<number> {
  const opts = await toServeOptions(raw);
  const log = new ServeLog(io, opts.log);
  const running: Running[] = [];
  try {
    for (const { protocol, port } of opts.services) {
      const listenOpts = { host: opts.host, port, allow: opts.allow, udpRate: opts.udpRate, limits: opts.limits, onEvent: log.event };
      running.push({ protocol: protocol.name, listeners: await serveProtocol(protocol, opts.transports, listenOpts) });
    }
  } catch (err) {
    for (const r of running) for (const l of r.listeners) l.stop();
    throw err;
  }
  const listeners = running.flatMap((r) => r.listeners);
  const counters = () => sum(listeners.map((l) => l.counters));
  const first = nextSignal();
  log.listening(running, opts.allow?.text);
  const ticker = opts.statsMs === undefined ? undefined : setInterval(() => log.stats(counters()), opts.statsMs);

  const signal = await first;
  clearInterval(ticker);
  // A second signal cuts the drain short.
  log.draining(openConnections(listeners), opts.drainMs);
  const cut = await drain(listeners, opts.drainMs, nextSignal());
  log.stopped(signal, cut, counters());
  await io.flush();
  return 0;
}

/** nextSignal resolves with the name of the next SIGINT or SIGTERM. */
function nextSignal(): Promise<string> {
  return new Promise<string>((resolve) => {
    const on = (name: string) => () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve(name);
    };
    const onInt = on("SIGINT");
    const onTerm = on("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
}

export function registerServe(cli: CAC, io: Io): void {
  cli
    .command("serve", "Run servers: the uppercase protocol on UDP and TCP port 12000, or the RFC services")
    .option("--udp", "Serve UDP only")
    .option("--tcp", "Serve TCP only")
    .option("--host <address>", "Address to bind (default: :: for all interfaces, IPv6 and IPv4)")
    .option("--port <port>", "Port to bind, 0 for any free port (default: the protocol's, 12000 for upper)")
    .option("--protocol <name[=port]>", "Protocol to serve, repeatable, each on its own port (see `upcat protocols`)", { default: "upper" })
    .option("--quotes <file>", "Quotes for qotd: one a line, or fortune's %-separated form")
    .option("--allow <cidr>", "Serve only these addresses, repeatable (others: no UDP reply, TCP closed at once)")
    .option("--udp-rate <n>", "UDP replies larger than their request, per source address a second (0: none)", { default: DEFAULT_UDP_RATE })
    .option("--max-connections <n>", "Open TCP connections at most; more are closed at once and counted", { default: DEFAULT_LIMITS.maxConnections })
    .option("--idle-timeout <duration>", "Close a TCP connection where nothing moved for this long (0: never)", { default: "5m" })
    .option("--max-pending <size>", "Output a slow reader may leave unsent before the server stops reading it", { default: "1m" })
    .option("--drain <duration>", "On SIGINT/SIGTERM, let connections finish for this long (a second signal: at once)", { default: "5s" })
    .option("--log <format>", "text: a ready line and a last line; json: one JSON object per event", { default: "text" })
    .option("--stats <duration>", "Print a summary line (connections, datagrams, bytes, refusals) this often")
    .option("--quiet", "Print nothing on stderr (wins over --log)")
    .example("  upcat serve                  # uppercase on udp and tcp port 12000")
    .example("  upcat serve --tcp --port 9000 --host 127.0.0.1")
    .example("  upcat serve --protocol echo --protocol daytime        # ports 7 and 13 (root)")
    .example("  upcat serve --protocol time=3700 --protocol qotd=1700 --allow 10.0.0.0/8")
    .action((options: Record<string, unknown>) => serve(options, io));
}
