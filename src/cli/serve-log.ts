// What `upcat serve` says on stderr: a ready line and a last line (text), one JSON object per event (json), or nothing
// (quiet).
import { type Counters, type LimitName, type Listener, newCounters, type ServerEvent } from "../transport/listener.ts";
import { hostPort } from "../transport/address.ts";
import { type Lowered, loweredText } from "../transport/open-files.ts";
import type { Io } from "./io.ts";

export type LogFormat = "text" | "json" | "quiet";

/**
 * LIMIT_LINES_PER_SECOND: limit events past this many in a second are counted, not written, and one
 * `limits` line a second sums them up: a flood of refused connections must not become a flood of log
 * lines (which, when stderr is not read, is memory).
 */
export const LIMIT_LINES_PER_SECOND = 20;

/**
 * LineWindow lets at most `perSecond` lines through in each second (one second from the first line after the last
 * window ended); the lines past it are the caller's to count.
 */
export class LineWindow {
  private startedAt = 0;
  private written = 0;

  constructor(private readonly perSecond = LIMIT_LINES_PER_SECOND) {}

  /** admit says whether a line may be written now; `newSecond` runs first when this line starts a new window. */
  admit(now: number, newSecond?: () => void): boolean {
    if (now - this.startedAt >= 1000) {
      newSecond?.();
      this.startedAt = now;
      this.written = 0;
    }
    if (this.written >= this.perSecond) return false;
    this.written++;
    return true;
  }

  /** msLeft is how long the current window has to run (at least 1 ms). */
  msLeft(now: number): number {
    return Math.max(1, 1000 - (now - this.startedAt));
  }
}

/**
 * DROP_BOUNDS are the bounds that drop UDP replies while the server runs, each with its word in the last line and the
 * option that lifts it: the `dropping replies` line names both (ServeLog.dropping).
 */
const DROP_BOUNDS = [
  { key: "replyLimited", word: "reply-limited", lift: "--udp-reply-rate 0" },
  { key: "rateLimited", word: "rate-limited", lift: "a higher --udp-rate" },
  { key: "excessLimited", word: "excess-limited", lift: "a higher --udp-excess" },
  { key: "shed", word: "shed", lift: "more --workers (a flood faster than the server)" },
] as const satisfies readonly { key: keyof Counters; word: string; lift: string }[];

/**
 * REFUSE_BOUNDS are the bounds that turn clients away, each with its word in the last line and the option that lifts
 * it: in text the `refusing` line names both (ServeLog.dropping); JSON has a `limit` line for each already. A relay's
 * UDP session past them is dropped with no word to its client, so only the server's log can say why.
 */
const REFUSE_BOUNDS = [
  { key: "perAddress", word: "per-address", lift: "a higher --max-per-address, or 0" },
  { key: "overLimit", word: "over-limit", lift: "a higher --max-connections" },
] as const satisfies readonly { key: keyof Counters; word: string; lift: string }[];

/** DROP_LINE_MS: the `dropping replies` and `refusing` lines come at most this often. */
export const DROP_LINE_MS = 1000;

/** ListenAddress is where a listener listens: all a log line needs of it. */
export type ListenAddress = Pick<Listener, "transport" | "host" | "port">;

/** Running is one protocol and where it listens. */
export interface Running {
  protocol: string;
  listeners: readonly ListenAddress[];
}

/** sum adds up the counters of every listener (or worker): zeros for none. */
export function sum(all: readonly Counters[]): Counters {
  const total = newCounters();
  for (const c of all) for (const key of Object.keys(total) as (keyof Counters)[]) total[key] += c[key];
  return total;
}

/** ServeLog writes the server's lines in the chosen format. */
export class ServeLog {
  /** event is the transport's callback; only json mode wants one line a connection. */
  readonly event: ((e: ServerEvent) => void) | undefined;

  /** The current second's window of limit events, and what was held back. */
  private readonly window = new LineWindow();
  private held: Partial<Record<LimitName, number>> = {};
  private summary: ReturnType<typeof setTimeout> | undefined;
  /** seen are the counts of DROP_BOUNDS and REFUSE_BOUNDS as the last `dropping` call (or the start) saw them. */
  private readonly seen: Record<(typeof DROP_BOUNDS | typeof REFUSE_BOUNDS)[number]["key"], number> = {
    replyLimited: 0,
    rateLimited: 0,
    excessLimited: 0,
    shed: 0,
    perAddress: 0,
    overLimit: 0,
  };

  /** `tag` goes into every JSON line: the worker that wrote it, under `serve --workers`. */
  constructor(
    private readonly io: Io,
    readonly format: LogFormat,
    private readonly tag: Record<string, unknown> = {},
    /** openFiles is the open-file limit that set --max-connections, if it did: then it is what lifts over-limit. */
    private readonly openFiles?: number,
  ) {
    this.event = format === "json" ? (e) => (e.event === "limit" ? this.limit(e) : this.json({ ...e })) : undefined;
  }

  /** limit writes a limit event, or counts it once a second's share is written. */
  private limit(e: Extract<ServerEvent, { event: "limit" }>): void {
    const now = performance.now();
    if (this.window.admit(now, () => this.flushLimits())) return this.json({ ...e });
    this.held[e.limit] = (this.held[e.limit] ?? 0) + 1;
    this.summary ??= setTimeout(() => this.flushLimits(), this.window.msLeft(now));
    this.summary.unref?.();
  }

  /** flushLimits writes one line for the limit events held back, if any were. */
  private flushLimits(): void {
    clearTimeout(this.summary);
    this.summary = undefined;
    const held = this.held;
    const total = Object.values(held).reduce((a, b) => a + b, 0);
    if (total === 0) return;
    this.held = {};
    this.json({ event: "limits", suppressed: total, ...held });
  }

  private json(record: Record<string, unknown>): void {
    this.io.err(JSON.stringify({ time: new Date().toISOString(), ...this.tag, ...record }));
  }

  /** listening is the ready line; `workers` is how many processes share the ports (serve --workers). */
  listening(running: readonly Running[], allow: string | undefined, workers = 1): void {
    const shared = workers > 1 ? { workers } : {};
    if (this.format === "json") {
      for (const r of running)
        for (const l of r.listeners)
          this.json({
            event: "listening",
            protocol: r.protocol,
            transport: l.transport,
            address: l.host,
            port: l.port,
            allow,
            ...shared,
          });
    } else if (this.format === "text") {
      const what = running
        .map(
          (r) =>
            `${r.protocol} on ${r.listeners.map((l) => `${l.transport} ${hostPort(l.host, l.port)}`).join(" and ")}`,
        )
        .join(", ");
      this.io.err(
        `upcat: serving ${what}${allow ? ` for ${allow}` : ""}${workers > 1 ? ` with ${workers} workers` : ""} ` +
          `(Ctrl-C to stop)`,
      );
    }
  }

  /**
   * dropping says which bounds dropped replies, and (in text) which turned clients away, since it last looked (a
   * second ago, at most), how many, and the option that lifts each: called once a DROP_LINE_MS while the server runs
   * (runServer), so a bound is seen while it is hit, at most a line a second each, and a quiet second writes nothing.
   */
  dropping(c: Counters): void {
    const since = (bounds: typeof DROP_BOUNDS | typeof REFUSE_BOUNDS) => {
      const parts: string[] = [];
      const record: Record<string, number> = {};
      for (const { key, word, lift } of bounds) {
        const n = c[key] - this.seen[key];
        this.seen[key] = c[key];
        if (n <= 0) continue;
        const by = key === "overLimit" && this.openFiles !== undefined;
        parts.push(
          `${word} ${n} (lift with ${by ? `a higher open-file limit: ulimit -n is ${this.openFiles}` : lift})`,
        );
        record[word.replace("-", "_")] = n;
      }
      return { parts, record };
    };
    const dropped = since(DROP_BOUNDS);
    const refused = since(REFUSE_BOUNDS);
    const who = this.tag.worker === undefined ? "" : `worker ${this.tag.worker}: `;
    if (dropped.parts.length > 0 && this.format === "json") this.json({ event: "dropping", ...dropped.record });
    if (this.format !== "text") return;
    if (dropped.parts.length > 0) this.io.err(`upcat: ${who}dropping replies: ${dropped.parts.join(", ")}`);
    if (refused.parts.length > 0) this.io.err(`upcat: ${who}refusing: ${refused.parts.join(", ")}`);
  }

  stats(c: Counters): void {
    if (this.format === "json") this.json({ event: "stats", ...statsRecord(c) });
    else if (this.format === "text") this.io.err(`upcat: stats: ${statsText(c)}`);
  }

  /** droppedLine says that `n` lines of this log were dropped while stderr's reader was slow (LOG_BACKLOG). */
  droppedLine(n: number): string {
    if (this.format === "json")
      return JSON.stringify({ time: new Date().toISOString(), ...this.tag, event: "log_dropped", lines: n });
    const who = this.tag.worker === undefined ? "" : `worker ${this.tag.worker}: `;
    return `upcat: ${who}${n} log lines dropped: stderr's reader was slow, and the server does not wait for it`;
  }

  /** lowered says that the open-file limit (ulimit -n) holds fewer connections than --max-connections asked. */
  lowered(l: Lowered): void {
    if (this.format === "json")
      this.json({ event: "lowered", option: "max-connections", from: l.from, to: l.to, open_files: l.openFiles });
    else if (this.format === "text") this.io.err(`upcat: ${loweredText("--max-connections", l)}`);
  }

  draining(open: number, ms: number): void {
    if (open === 0) return;
    if (this.format === "json") this.json({ event: "draining", open, drain_ms: ms });
    else if (this.format === "text")
      this.io.err(
        `upcat: draining ${open} connection${open === 1 ? "" : "s"} (up to ${ms}ms; signal again to stop now)`,
      );
  }

  /** stopped is the last line; `restarts` counts the workers restarted after dying (serve --workers). */
  stopped(signal: string, cut: number, c: Counters, restarts = 0): void {
    if (this.format === "json") this.flushLimits();
    if (this.format === "json")
      this.json({ event: "stopped", signal, cut, ...(restarts > 0 ? { restarts } : {}), ...statsRecord(c) });
    else if (this.format === "text") {
      const cutText = cut > 0 ? `, ${cut} connection${cut === 1 ? "" : "s"} cut` : "";
      const restarted = restarts > 0 ? `, ${restarts} worker restart${restarts === 1 ? "" : "s"}` : "";
      this.io.err(`upcat: ${signal}: stopped${cutText}${restarted}${refusals(c)}`);
    }
  }
}

function statsRecord(c: Counters) {
  return {
    open: c.open,
    connections: c.connections,
    datagrams_in: c.datagramsIn,
    datagrams_out: c.datagramsOut,
    bytes_in: c.bytesIn,
    bytes_out: c.bytesOut,
    denied: c.denied,
    rate_limited: c.rateLimited,
    reply_limited: c.replyLimited,
    excess_limited: c.excessLimited,
    reflection: c.reflected,
    send_failed: c.sendFailed,
    over_limit: c.overLimit,
    per_address: c.perAddress,
    idle_closed: c.idleClosed,
    lifetime_closed: c.lifetimeClosed,
    output_paused: c.outputPaused,
    shed: c.shed,
  };
}

function statsText(c: Counters): string {
  return (
    `${c.open} open, ${c.connections} connections, ${c.datagramsIn} datagrams in, ${c.datagramsOut} out, ` +
    `${c.bytesIn} bytes in, ${c.bytesOut} out${refusals(c) || " (refused: none)"}`
  );
}

/** refusals sums what the servers turned away; nothing when nothing was. */
function refusals(c: Counters): string {
  const parts: [string, number][] = [
    ["denied", c.denied],
    ["rate-limited", c.rateLimited],
    ["reply-limited", c.replyLimited],
    ["excess-limited", c.excessLimited],
    ["reflection", c.reflected],
    ["send-failed", c.sendFailed],
    ["over-limit", c.overLimit],
    ["per-address", c.perAddress],
    ["idle", c.idleClosed],
    ["lifetime", c.lifetimeClosed],
    ["output-paused", c.outputPaused],
    ["shed", c.shed],
  ];
  const seen = parts.filter(([, n]) => n !== 0);
  return seen.length === 0 ? "" : ` (refused: ${seen.map(([k, n]) => `${k} ${n}`).join(", ")})`;
}
