// A server's --stats counters as Prometheus series: each number one series, named from where it sits in the counters
// (server.bytesIn → upcat_server_bytes_in_total, relay.up.dropped → upcat_relay_up_dropped_total).
import { type Family, exposition } from "./exposition.ts";

/** GAUGES are the counters that say how many now (open connections, UDP sessions), not how many so far. */
const GAUGES = new Set(["open", "sessions"]);

/** HELP words the server counters people look up; the rest are named by where they sit, and --stats says the same. */
const HELP: Record<string, string> = {
  upcat_server_connections_total: "TCP connections accepted and served",
  upcat_server_open: "TCP connections (relay: and UDP sessions) open now",
  upcat_server_datagrams_in_total: "UDP datagrams received",
  upcat_server_datagrams_out_total: "UDP datagrams sent",
  upcat_server_bytes_in_total: "Bytes received, TCP and UDP",
  upcat_server_bytes_out_total: "Bytes sent, TCP and UDP",
  upcat_server_denied_total: "Peers refused by --allow",
  upcat_server_rate_limited_total: "UDP replies larger than their request dropped by --udp-rate",
  upcat_server_reply_limited_total: "UDP replies dropped by --udp-reply-rate",
  upcat_server_excess_limited_total: "UDP replies dropped by --udp-excess",
  upcat_server_reflected_total: "Datagrams from a service port, a served port, broadcast or multicast, not answered",
  upcat_server_send_failed_total: "UDP replies the kernel would not take",
  upcat_server_over_limit_total: "Connections closed at once by --max-connections",
  upcat_server_per_address_total: "Connections closed at once by --max-per-address",
  upcat_server_idle_closed_total: "Connections closed by --idle-timeout",
  upcat_server_lifetime_closed_total: "Connections closed by --max-lifetime",
  upcat_server_output_paused_total: "Times reading paused because queued output neared --max-output",
  upcat_server_shed_total: "UDP datagrams dropped unanswered while a flood held the event loop",
};

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** leaves lists every number under value with its path of keys. */
function leaves(value: object, path: string[]): [string[], number][] {
  return Object.entries(value).flatMap(([key, v]): [string[], number][] => {
    if (typeof v === "number") return [[[...path, key], v]];
    if (v !== null && typeof v === "object") return leaves(v, [...path, key]);
    return [];
  });
}

/** counterFamilies are the series of each group of counters, named `upcat_GROUP_...`. */
export function counterFamilies(groups: Readonly<Record<string, object>>): Family[] {
  return Object.entries(groups).flatMap(([group, counters]) =>
    leaves(counters, [group]).map(([path, value]): Family => {
      const gauge = GAUGES.has(path.at(-1)!);
      const name = `upcat_${path.map(snake).join("_")}${gauge ? "" : "_total"}`;
      const help = HELP[name] ?? `${path.slice(1).join(".")}, as --stats counts it`;
      return { name, help, type: gauge ? "gauge" : "counter", samples: [{ value }] };
    }),
  );
}

/** countersText is the exposition of counterFamilies. */
export function countersText(groups: Readonly<Record<string, object>>): string {
  return exposition(counterFamilies(groups));
}
