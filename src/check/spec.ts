// Reads the targets of `upcat check`: a TARGET with a port range or list expands to one target a port.
import { UsageError } from "../errors.ts";
import { parseTarget } from "../transport/target.ts";
import { isHttpSpec, parseHttpTarget } from "./http-target.ts";
import type { CheckTarget } from "./result.ts";
import { quote } from "../text/shown.ts";
import { parseServiceUrl, serviceOf } from "./services/endpoint.ts";

/** MAX_TARGETS bounds one run: every port of one host, and no more. */
export const MAX_TARGETS = 65535;

const PORTS_AT_END = /^(.*):([0-9][0-9,\-\s]*)$/;

/**
 * expandSpec turns `host:8000-8010`, `udp://host:22,80,443` or `[::1]:1-3` into one Target a port,
 * in the order written, duplicates dropped. An http:// or https:// URL is one HTTP target. Anything
 * else is parsed as a plain TARGET.
 */
export function expandSpec(spec: string): CheckTarget[] {
  const text = spec.trim();
  if (isHttpSpec(text)) return [parseHttpTarget(text)];
  if (serviceOf(text)) return [parseServiceUrl(text)];
  const match = PORTS_AT_END.exec(text);
  if (!match || !/[,-]/.test(match[2]!)) return [parseTarget(text, { transport: "tcp", host: "localhost" })];
  const [, head, list] = match;
  const ports = parsePortList(list!, text);
  // Parse the host part once, through the one TARGET parser, with the first port standing in.
  const base = parseTarget(`${head}:${ports[0]}`, { transport: "tcp", host: "localhost" });
  return ports.map((port) => ({ ...base, port }));
}

/** parsePortList reads `22,80,443`, `8000-8010` or a mix, each port 1–65535, ranges low to high. */
export function parsePortList(list: string, spec = list): number[] {
  const seen = new Set<number>();
  for (const part of list.split(",")) {
    const item = part.trim();
    const range = /^(\d{1,5})-(\d{1,5})$/.exec(item);
    const [low, high] = range ? [Number(range[1]), Number(range[2])] : [Number(item), Number(item)];
    if (!(range || /^\d{1,5}$/.test(item)) || low < 1 || high > 65535 || low > high) {
      throw new UsageError(
        `invalid port or range ${quote(item)} in ${quote(spec)} (expected ports 1-65535, as in 22,80,8000-8010)`,
      );
    }
    for (let port = low; port <= high; port++) seen.add(port);
  }
  return [...seen];
}
