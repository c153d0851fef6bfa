// `upcat serve`: the textbook's servers, and the RFC services, on UDP and TCP at once, until SIGINT or SIGTERM.
import type { CAC } from "cac";
import { UsageError } from "../errors.ts";
import { protocolNamed } from "../protocol/index.ts";
import type { Protocol } from "../protocol/protocol.ts";
import { MAX_QUOTES_FILE, parseQuotes, qotd } from "../protocol/qotd.ts";
import { openConnections } from "../transport/drain.ts";
import { newBudgets } from "../transport/gate.ts";
import { ALL_INTERFACES, type Counters, type Listener } from "../transport/listener.ts";
import { serveProtocol } from "../transport/serve.ts";
import { parsePort } from "../transport/target.ts";
import type { Transport } from "../transport/transport.ts";
import { quote } from "../text/shown.ts";
import type { Io } from "./io.ts";
import { readSmallFile, shownPath } from "./read-input.ts";
import { runServer, type ServerProgram } from "./run-server.ts";
import { type Running, type ServeLog, sum } from "./serve-log.ts";
import { addServerOptions, fitOpenFiles, list, readServerOptions, type ServerBounds } from "./server-options.ts";

/** Service is one protocol to serve and the port it gets. */
interface Service {
  protocol: Protocol;
  port: number;
}

/** ServeOptions are serve's command line, read and checked: the services, where, and the bounds every server takes. */
interface ServeOptions extends ServerBounds {
  services: Service[];
  host: string;
  transports: Transport[];
}

/** toServeOptions checks the options together, before any socket opens. */
async function toServeOptions(raw: Record<string, unknown>): Promise<ServeOptions> {
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

  return { services, host, transports, ...readServerOptions(raw) };
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
  const opts = await fitOpenFiles(await toServeOptions(raw), raw, 1, io);
  const program: ServerProgram<Counters> = {
    bounds: opts,
    async bind(log, at) {
      const ports = at.ports ?? {};
      const services = opts.services.map((s) => ({ ...s, port: ports[s.protocol.name] ?? s.port }));
      const { running, listeners } = await listen({ ...opts, services }, log, at.worker !== undefined);
      return {
        running,
        listeners,
        counters: () => sum(listeners.map((l) => l.counters)),
        open: () => openConnections(listeners),
      };
    },
    choosePorts: () => choosePorts(opts),
    exposed: (c) => ({ server: c }),
    voice: (log) => ({
      sum,
      listening: (running, workers) => log.listening(running, opts.allow?.text, workers),
      stats: (total) => log.stats(total),
      stopped: (signal, cut, total, restarts) => log.stopped(signal, cut, total, restarts),
    }),
  };
  return runServer(program, io);
}

/** listen binds every service on every transport asked for, with the process's shared bounds, or none of them. */
async function listen(
  opts: ServeOptions,
  log: ServeLog,
  reusePort: boolean,
): Promise<{ running: Running[]; listeners: Listener[] }> {
  const running: { protocol: string; listeners: Listener[] }[] = [];
  // The bounds are the process's, not each listener's: serving more protocols must not multiply them.
  const budgets = newBudgets(opts);
  try {
    for (const { protocol, port } of opts.services) {
      const listenOpts = {
        host: opts.host,
        port,
        limits: opts.limits,
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

/** choosePorts binds each service's port once, alone (runServer says why): port 0 gets one port for UDP and TCP. */
async function choosePorts(opts: ServeOptions): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  for (const { protocol, port } of opts.services) {
    const held = await serveProtocol(protocol, opts.transports, { host: opts.host, port, udpReplyRate: 0 });
    ports[protocol.name] = held[0]!.port;
    for (const l of held) l.stop();
  }
  return ports;
}

export function registerServe(cli: CAC, io: Io): void {
  const command = cli
    .command("serve", "Run servers: the uppercase protocol on UDP and TCP port 12000, or the RFC services")
    .option("--udp", "Serve UDP only")
    .option("--tcp", "Serve TCP only")
    .option("--host <address>", "Address to bind (default: :: for all interfaces, IPv6 and IPv4)")
    .option("--port <port>", "Port to bind, 0 for any free port (default: the protocol's, 12000 for upper)")
    .option("--protocol <name[=port]>", "Protocol to serve, repeatable, each on its own port (see `upcat protocols`)", {
      default: "upper",
    })
    .option("--quotes <file>", "Quotes for qotd: one a line, or fortune's %-separated form");
  addServerOptions(command, "serve", [
    "allow",
    "udpReplyRate",
    "udpRate",
    "udpExcess",
    "maxConnections",
    "maxPerAddress",
    "idleTimeout",
    "maxLifetime",
    "maxPending",
    "maxOutput",
    "drain",
    "log",
    "stats",
    "metrics",
    "workers",
    "quiet",
  ])
    .example("  upcat serve                  # uppercase on udp and tcp port 12000")
    .example("  upcat serve --tcp --port 9000 --host 127.0.0.1")
    .example("  upcat serve --protocol echo --protocol daytime        # ports 7 and 13 (root)")
    .example("  upcat serve --protocol time=3700 --protocol qotd=1700 --allow 10.0.0.0/8")
    .action((options: Record<string, unknown>) => serve(options, io));
}
