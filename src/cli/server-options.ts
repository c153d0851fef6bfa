// The bounds every server takes (serve and relay): one table of options, each with its default and each server's
// words for it, added to a command by addServerOptions and read back, checked together, by readServerOptions.
import type { Command } from "cac";
import { UsageError } from "../errors.ts";
import { type AllowList, parseAllowList } from "../transport/allow-list.ts";
import {
  DEFAULT_LIMITS,
  DEFAULT_UDP_EXCESS,
  DEFAULT_UDP_RATE,
  DEFAULT_UDP_REPLY_RATE,
  type Limits,
} from "../transport/listener.ts";
import { quote } from "../text/shown.ts";
import { parseTarget } from "../transport/target.ts";
import { formatDuration, formatSize, parseCount, parseDuration, parseSize, parseWorkers } from "./option-values.ts";
import { lowered } from "../transport/open-files.ts";
import { workerPlan } from "../workers/pool.ts";
import type { Io } from "./io.ts";
import { type LogFormat, ServeLog } from "./serve-log.ts";

/** ServerKind names the servers that take these options; each says an option in its own terms. */
export type ServerKind = "serve" | "relay";

/** DRAIN_MS is how long connections in progress may finish after SIGINT or SIGTERM. */
const DRAIN_MS = 5000;

/** ServerOption is one bound as a command declares it: flags, each server's help, and its default as typed. */
interface ServerOption {
  flags: string;
  help: Record<ServerKind, string>;
  default?: string;
}

/** same is help that both servers word alike. */
const same = (text: string): Record<ServerKind, string> => ({ serve: text, relay: text });

/** SERVER_OPTIONS are the bounds and the server's voice, each default written from the one constant that holds it. */
export const SERVER_OPTIONS = {
  allow: {
    flags: "--allow <cidr>",
    help: {
      serve: "Serve only these addresses, repeatable (others: no UDP reply, TCP closed at once)",
      relay: "Relay only for these client addresses, repeatable (others: no UDP relay, TCP closed at once)",
    },
  },
  maxConnections: {
    flags: "--max-connections <n>",
    help: {
      serve: "Open TCP connections at most; more are closed at once and counted",
      relay: "Open TCP connections, or UDP sessions, at most; more are refused and counted",
    },
    default: String(DEFAULT_LIMITS.maxConnections),
  },
  maxPerAddress: {
    flags: "--max-per-address <n>",
    help: {
      serve: "Open TCP connections per address (IPv4, IPv6 /64); more are closed at once (0: no cap)",
      relay:
        "Open TCP connections, or UDP sessions, per client address (IPv4, IPv6 /64); more are refused and counted " +
        "(0: no cap)",
    },
    default: String(DEFAULT_LIMITS.maxPerAddress),
  },
  idleTimeout: {
    flags: "--idle-timeout <duration>",
    help: {
      serve: "Close a TCP connection where nothing moved for this long (0: never)",
      relay: "Close a connection or UDP session where nothing moved either way for this long (0: never)",
    },
    default: formatDuration(DEFAULT_LIMITS.idleTimeoutMs),
  },
  maxLifetime: {
    flags: "--max-lifetime <duration>",
    help: {
      serve: "Close a TCP connection open this long, however it trickles (0: never)",
      relay: "Close a connection (reset) or UDP session open this long, however it trickles (0: never)",
    },
    default: formatDuration(DEFAULT_LIMITS.maxLifetimeMs),
  },
  udpReplyRate: {
    flags: "--udp-reply-rate <n>",
    help: {
      serve:
        "UDP replies of any size per source prefix (/24, /56; loopback: per address and port) a second; bounds " +
        "loops (0: no limit)",
      relay:
        "Datagrams sent back to each client prefix (/24, /56; loopback: per address and port) a second; past it " +
        "dropped and counted, so a forged source cannot aim the relay at a victim (0: no limit) [udp]",
    },
    default: String(DEFAULT_UDP_REPLY_RATE),
  },
  udpRate: {
    flags: "--udp-rate <n>",
    help: {
      serve: "UDP replies larger than their request, per source prefix (/24, /56) a second (0: none)",
      relay:
        "Datagrams sent back larger than the client's last one, per client prefix (/24, /56) a second; past it " +
        "dropped and counted, so an amplifying TARGET (qotd, chargen) is no weapon (0: none) [udp]",
    },
    default: String(DEFAULT_UDP_RATE),
  },
  udpExcess: {
    flags: "--udp-excess <size>",
    help: {
      serve: "Bytes a second that UDP replies may add over their requests, all sources together (0: none)",
      relay:
        "Bytes a second by which datagrams sent back may outgrow the client's last one, all clients together " +
        "(0: none) [udp]",
    },
    default: formatSize(DEFAULT_UDP_EXCESS),
  },
  maxPending: {
    flags: "--max-pending <size>",
    help: {
      serve: "Output a slow reader may leave unsent before the server stops reading it",
      relay:
        "Bytes one direction may hold (queued, delayed, paced) before the relay stops reading its sender (UDP: drops)",
    },
    default: formatSize(DEFAULT_LIMITS.maxPending),
  },
  maxOutput: {
    flags: "--max-output <size>",
    help: {
      serve:
        "Output queued for all slow readers together: within one read (512k) of it, no connection is read (new ones " +
        "wait) until it drains to half; --idle-timeout frees those that never read",
      relay:
        "Bytes all connections together may hold: within one read (512k) of it, no sender is read until it drains " +
        "to half (UDP: datagrams dropped)",
    },
    default: formatSize(DEFAULT_LIMITS.maxOutput),
  },
  drain: {
    flags: "--drain <duration>",
    help: {
      serve: "On SIGINT/SIGTERM, let connections finish for this long (a second signal: at once)",
      relay: "On SIGINT/SIGTERM, let TCP connections finish for this long (a second signal: at once)",
    },
    default: formatDuration(DRAIN_MS),
  },
  log: {
    flags: "--log <format>",
    help: {
      serve: "text: a ready line and a last line; json: one JSON object per event",
      relay:
        "text: a ready line, target failures and a last line; json: one JSON object per connection or session and " +
        "event",
    },
    default: "text",
  },
  stats: {
    flags: "--stats <duration>",
    help: same("Print a summary line (connections, datagrams, bytes, refusals) this often"),
  },
  metrics: {
    flags: "--metrics <addr>",
    help: same("Serve the --stats counters for Prometheus on http://ADDR/metrics (host:port, :0 for any free port)"),
  },
  workers: {
    flags: "--workers <n>",
    help: {
      serve: "Processes serving the same ports, one a core (auto: every core; Linux, SO_REUSEPORT)",
      relay: "Processes relaying from the same LISTEN, one a core (auto: every core; Linux, SO_REUSEPORT)",
    },
    default: "1",
  },
  quiet: { flags: "--quiet", help: same("Print nothing on stderr (wins over --log)") },
} as const satisfies Record<string, ServerOption>;

export type ServerOptionName = keyof typeof SERVER_OPTIONS;

/**
 * addServerOptions adds the named server options to a command, in the order given (each command's --help keeps its
 * own order), worded for `kind`.
 */
export function addServerOptions(command: Command, kind: ServerKind, names: readonly ServerOptionName[]): Command {
  for (const name of names) {
    const o: ServerOption = SERVER_OPTIONS[name];
    if (o.default === undefined) command.option(o.flags, o.help[kind]);
    else command.option(o.flags, o.help[kind], { default: o.default });
  }
  return command;
}

/** ServerBounds are the server options read and checked: what a server process is bounded by and how it speaks. */
export interface ServerBounds {
  allow: AllowList | undefined;
  udpRate: number;
  udpReplyRate: number;
  udpExcess: number;
  limits: Limits;
  drainMs: number;
  statsMs: number | undefined;
  /** metrics is where --metrics serves the counters over HTTP, if asked. */
  metrics: { host: string; port: number } | undefined;
  log: LogFormat;
  /** workers is how many processes serve the same ports (1: this one). */
  workers: number;
  /** openFiles is the open-file limit (ulimit -n) when it, not --max-connections, set limits.maxConnections. */
  openFiles?: number;
}

const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** ONCE are the options that can be given once; the first found given twice is named. */
const ONCE: readonly ServerOptionName[] = [
  "udpRate",
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
  "metrics",
  "log",
];

/** list reads a repeatable option: cac gives one value as a string and several as an array. */
export function list(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** readServerOptions checks the server options together, before any socket opens. */
export function readServerOptions(raw: Record<string, unknown>): ServerBounds {
  const d = (name: ServerOptionName): unknown => raw[name] ?? (SERVER_OPTIONS[name] as ServerOption).default;
  for (const name of ONCE) {
    if (Array.isArray(raw[name]))
      throw new UsageError(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} can be given once`);
  }
  const log = raw.quiet ? "quiet" : String(d("log"));
  if (log !== "quiet" && !LOG_FORMATS.includes(log as LogFormat))
    throw new UsageError(`invalid --log ${quote(log)} (expected text or json)`);
  return {
    allow: parseAllowList(list(raw.allow)),
    udpRate: parseCount(d("udpRate"), "--udp-rate", 1_000_000),
    udpReplyRate: parseCount(d("udpReplyRate"), "--udp-reply-rate", 100_000_000),
    udpExcess: sizeOrZero(d("udpExcess"), "--udp-excess"),
    limits: {
      maxConnections: Math.max(1, parseCount(d("maxConnections"), "--max-connections", 1_000_000)),
      maxPerAddress: parseCount(d("maxPerAddress"), "--max-per-address", 1_000_000),
      idleTimeoutMs: durationOrZero(d("idleTimeout"), "--idle-timeout"),
      maxLifetimeMs: durationOrZero(d("maxLifetime"), "--max-lifetime"),
      maxPending: parseSize(d("maxPending"), "--max-pending"),
      maxOutput: parseSize(d("maxOutput"), "--max-output"),
    },
    drainMs: durationOrZero(d("drain"), "--drain"),
    statsMs: raw.stats === undefined ? undefined : parseDuration(raw.stats, "--stats"),
    metrics: raw.metrics === undefined ? undefined : parseHttpAddress(String(raw.metrics), "--metrics"),
    log: log as LogFormat,
    workers: workersHere(d("workers")),
  };
}

/**
 * fitOpenFiles lowers --max-connections to what the open-file limit holds, `each` files a connection (serve 1, the
 * relay 2: its client's and the target's), and says so where another value was given (the parent alone, under
 * --workers); the default is lowered quietly (the relay's 10 000 needs 20 064 files, more than many machines allow).
 * Past the limit accept fails, and Bun's listener retries it at once, for ever: the server spins and says nothing.
 * Within it, a connection past --max-connections is accepted and closed at once, counted as over-limit.
 */
export async function fitOpenFiles<B extends ServerBounds>(
  bounds: B,
  raw: Record<string, unknown>,
  each: number,
  io: Io,
): Promise<B> {
  const l = await lowered(bounds.limits.maxConnections, { each, reserved: 64 });
  if (!l) return bounds;
  // cac fills in the default: a value other than it was given.
  const given = String(raw.maxConnections) !== SERVER_OPTIONS.maxConnections.default;
  if (given && workerPlan() === undefined) new ServeLog(io, bounds.log).lowered(l);
  return { ...bounds, limits: { ...bounds.limits, maxConnections: l.to }, openFiles: l.openFiles };
}

/**
 * parseHttpAddress reads where an HTTP endpoint listens: host:port, :port on loopback (counters are no one else's
 * business unless asked), port 0 for any free one.
 */
export function parseHttpAddress(text: string, option: string): { host: string; port: number } {
  const anyPort = /:0$/.test(text);
  let parsed: ReturnType<typeof parseTarget>;
  try {
    parsed = parseTarget(anyPort ? `${text.slice(0, -1)}1` : text, { transport: "tcp", host: LOOPBACK });
  } catch (err) {
    // The target parser's hint names udp:// too, which an HTTP endpoint is never.
    if (err instanceof UsageError)
      throw new UsageError(
        err.message
          .replace(/^invalid target/, `invalid ${option}`)
          .replace(/ \(expected [^)]*\)$/, " (expected host:port)"),
      );
    throw err;
  }
  if (parsed.transport !== "tcp") throw new UsageError(`${option} is an HTTP address: host:port`);
  return { host: parsed.host, port: anyPort ? 0 : parsed.port };
}

const LOOPBACK = "127.0.0.1";

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
export function durationOrZero(value: unknown, option: string): number {
  return String(value) === "0" ? 0 : parseDuration(value, option);
}

/** sizeOrZero reads a size where 0 means "none at all" (--udp-excess 0: no reply larger than its request). */
function sizeOrZero(value: unknown, option: string): number {
  return String(value) === "0" ? 0 : parseSize(value, option);
}
