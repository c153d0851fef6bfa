// `upcat serve`: the textbook's servers, on UDP and TCP at once, until SIGINT or SIGTERM.
import type { CAC } from "cac";
import { UsageError } from "../errors.ts";
import { protocolNamed } from "../protocol/index.ts";
import { hostPort } from "../transport/address.ts";
import { ALL_INTERFACES, type Listener } from "../transport/listener.ts";
import { serveProtocol } from "../transport/serve.ts";
import { parsePort, type Transport } from "../transport/target.ts";
import type { Io } from "./io.ts";

interface ServeOptions {
  protocol: string;
  host: string;
  port: number | undefined;
  transports: Transport[];
}

/** toServeOptions checks the options together, before any socket opens. */
function toServeOptions(raw: Record<string, unknown>): ServeOptions {
  if (Array.isArray(raw.protocol)) throw new UsageError("--protocol can be given once");
  if (Array.isArray(raw.host) || Array.isArray(raw.port)) throw new UsageError("--host and --port can be given once each");
  const host = String(raw.host ?? ALL_INTERFACES);
  if (host === "" || /\s/.test(host)) throw new UsageError(`invalid --host "${host}"`);
  const transports: Transport[] = raw.udp && !raw.tcp ? ["udp"] : raw.tcp && !raw.udp ? ["tcp"] : ["udp", "tcp"];
  return {
    protocol: String(raw.protocol ?? "upper"),
    host,
    port: raw.port === undefined ? undefined : parsePort(raw.port as string, true),
    transports,
  };
}

/** serve runs the servers and resolves with the exit status once a signal has stopped them. */
async function serve(raw: Record<string, unknown>, io: Io): Promise<number> {
  const opts = toServeOptions(raw);
  const protocol = protocolNamed(opts.protocol);
  const listeners = await serveProtocol(protocol, opts.transports, { host: opts.host, port: opts.port ?? protocol.port });
  const stopped = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  io.err(`upcat: serving ${protocol.name} on ${listeners.map(describe).join(" and ")} (Ctrl-C to stop)`);
  const signal = await stopped;
  for (const listener of listeners) listener.stop();
  io.err(`upcat: ${signal}: stopped`);
  return 0;
}

function describe(l: Listener): string {
  return `${l.transport} ${hostPort(l.host, l.port)}`;
}

export function registerServe(cli: CAC, io: Io): void {
  cli
    .command("serve", "Run a server: the uppercase protocol on UDP and TCP port 12000")
    .option("--udp", "Serve UDP only")
    .option("--tcp", "Serve TCP only")
    .option("--host <address>", "Address to bind (default: :: for all interfaces, IPv6 and IPv4)")
    .option("--port <port>", "Port to bind, 0 for any free port (default: the protocol's, 12000 for upper)")
    .option("--protocol <name>", "Protocol to serve (see `upcat protocols`)", { default: "upper" })
    .example("  upcat serve                  # uppercase on udp and tcp port 12000")
    .example("  upcat serve --tcp --port 9000 --host 127.0.0.1")
    .action((options: Record<string, unknown>) => serve(options, io));
}
