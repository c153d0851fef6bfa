// What `upcat serve` says on stderr: a ready line and a last line (text), one JSON object per event (json), or nothing (quiet).
import type { Counters, Listener, ServerEvent } from "../transport/listener.ts";
import { hostPort } from "../transport/address.ts";
import type { Io } from "./io.ts";

export type LogFormat = "text" | "json" | "quiet";

/** Running is one protocol and the listeners that carry it. */
export interface Running {
  protocol: string;
  listeners: Listener[];
}

/** sum adds up the counters of every listener. */
export function sum(all: readonly Counters[]): Counters {
  const total = { ...all[0]! };
  for (const c of all.slice(1)) for (const key of Object.keys(total) as (keyof Counters)[]) total[key] += c[key];
  return total;
}

/** ServeLog writes the server's lines in the chosen format. */
export class ServeLog {
  /** event is the transport's callback; only json mode wants one line a connection. */
  readonly event: ((e: ServerEvent) => void) | undefined;

  constructor(
    private readonly io: Io,
    readonly format: LogFormat,
  ) {
    this.event = format === "json" ? (e) => this.json({ ...e }) : undefined;
  }

  private json(record: Record<string, unknown>): void {
    this.io.err(JSON.stringify({ time: new Date().toISOString(), ...record }));
  }

  listening(running: readonly Running[], allow: string | undefined): void {
    if (this.format === "json") {
      for (const r of running) for (const l of r.listeners) this.json({ event: "listening", protocol: r.protocol, transport: l.transport, address: l.host, port: l.port, allow });
    } else if (this.format === "text") {
      const what = running.map((r) => `${r.protocol} on ${r.listeners.map((l) => `${l.transport} ${hostPort(l.host, l.port)}`).join(" and ")}`).join(", ");
      this.io.err(`upcat: serving ${what}${allow ? ` for ${allow}` : ""} (Ctrl-C to stop)`);
    }
  }

  stats(c: Counters): void {
    if (this.format === "json") this.json({ event: "stats", ...statsRecord(c) });
    else if (this.format === "text") this.io.err(`upcat: stats: ${statsText(c)}`);
  }

  draining(open: number, ms: number): void {
    if (open === 0) return;
    if (this.format === "json") this.json({ event: "draining", open, drain_ms: ms });
    else if (this.format === "text") this.io.err(`upcat: draining ${open} connection${open === 1 ? "" : "s"} (up to ${ms}ms; signal again to stop now)`);
  }

  stopped(signal: string, cut: number, c: Counters): void {
    if (this.format === "json") this.json({ event: "stopped", signal, cut, ...statsRecord(c) });
    else if (this.format === "text") this.io.err(`upcat: ${signal}: stopped${cut > 0 ? `, ${cut} connection${cut === 1 ? "" : "s"} cut` : ""}${refusals(c)}`);
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
    reflection: c.reflected,
    over_limit: c.overLimit,
    idle_closed: c.idleClosed,
  };
}

function statsText(c: Counters): string {
  return `${c.open} open, ${c.connections} connections, ${c.datagramsIn} datagrams in, ${c.datagramsOut} out, ${c.bytesIn} bytes in, ${c.bytesOut} out${refusals(c) || " (refused: none)"}`;
}

/** refusals sums what the servers turned away; nothing when nothing was. */
function refusals(c: Counters): string {
  const parts: [string, number][] = [
    ["denied", c.denied],
    ["rate-limited", c.rateLimited],
    ["reflection", c.reflected],
    ["over-limit", c.overLimit],
    ["idle", c.idleClosed],
  ];
  const seen = parts.filter(([, n]) => n !== 0);
  return seen.length === 0 ? "" : ` (refused: ${seen.map(([k, n]) => `${k} ${n}`).join(", ")})`;
}
