// `upcat serve`: the textbook's servers, and the RFC services, on UDP and TCP at once, until SIGINT or SIGTERM.
import type { CAC } from "cac";
import { UsageError } from "../errors.ts";
import { protocolNamed } from "../protocol/index.ts";
import type { Protocol } from "../protocol/protocol.ts";
import { parseQuotes, qotd } from "../protocol/qotd.ts";
import { hostPort } from "../transport/address.ts";
import { parseAllowList, type AllowList } from "../transport/allow-list.ts";
import { ALL_INTERFACES, DEFAULT_UDP_RATE, type Counters, type Listener } from "../transport/listener.ts";
import { serveProtocol } from "../transport/serve.ts";
import { parsePort, type Transport } from "../transport/target.ts";
import type { Io } from "./io.ts";
import { parseCount } from "./option-values.ts";

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
}

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

  return {
    services,
    host,
    transports,
    allow: parseAllowList(list(raw.allow)),
    udpRate: raw.udpRate === undefined ? DEFAULT_UDP_RATE : parseCount(raw.udpRate, "--udp-rate", 1_000_000),
  };
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
  const running: { protocol: Protocol; listeners: Listener[] }[] = [];
  try {
    for (const { protocol, port } of opts.services) {
      const listeners = await serveProtocol(protocol, opts.transports, { host: opts.host, port, allow: opts.allow, udpRate: opts.udpRate });
      running.push({ protocol, listeners });
    }
  } catch (err) {
    for (const r of running) for (const l of r.listeners) l.stop();
    throw err;
  }
  const stopped = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  const what = running.map((r) => `${r.protocol.name} on ${r.listeners.map(describe).join(" and ")}`).join(", ");
  io.err(`upcat: serving ${what}${opts.allow ? ` for ${opts.allow.text}` : ""} (Ctrl-C to stop)`);
  const signal = await stopped;
  const listeners = running.flatMap((r) => r.listeners);
  for (const listener of listeners) listener.stop();
  io.err(`upcat: ${signal}: stopped${refusals(listeners.map((l) => l.counters))}`);
  return 0;
}

function describe(l: Listener): string {
  return `${l.transport} ${hostPort(l.host, l.port)}`;
}

/** refusals sums what the servers turned away, for the last line; nothing when nothing was. */
function refusals(all: Counters[]): string {
  const sum = (key: keyof Counters) => all.reduce((n, c) => n + c[key], 0);
  const parts = [
    ["denied", sum("denied")],
    ["rate-limited", sum("rateLimited")],
    ["reflection", sum("reflected")],
  ].filter(([, n]) => n !== 0);
  return parts.length === 0 ? "" : ` (refused: ${parts.map(([k, n]) => `${k} ${n}`).join(", ")})`;
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
    .example("  upcat serve                  # uppercase on udp and tcp port 12000")
    .example("  upcat serve --tcp --port 9000 --host 127.0.0.1")
    .example("  upcat serve --protocol echo --protocol daytime        # ports 7 and 13 (root)")
    .example("  upcat serve --protocol time=3700 --protocol qotd=1700 --allow 10.0.0.0/8")
    .action((options: Record<string, unknown>) => serve(options, io));
}
