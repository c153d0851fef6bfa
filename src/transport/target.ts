// Parses TARGET: tcp://host:port, udp://host:port, host:port (TCP) and [v6addr]:port.
import { isIPv6 } from "node:net";
import { UsageError } from "../errors.ts";
import type { Transport } from "./transport.ts";

/** Target is where a client sends: a transport, a host name or IP literal, and a port. */
export interface Target {
  readonly transport: Transport;
  readonly host: string;
  readonly port: number;
}

export interface TargetDefaults {
  /** transport is used when the text has no scheme. */
  transport: Transport;
  /** host is used when the text gives only ":port". */
  host: string;
  /** port is used when the text gives only a host; without it the port is required. */
  port?: number;
}

const SCHEME = /^(tcp|udp):\/\/(.*)$/i;
const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/;

/** parsePort reads a port number; `allowZero` is for servers, where 0 means any free port. */
export function parsePort(text: string | number, allowZero = false): number {
  const s = String(text).trim();
  const min = allowZero ? 0 : 1;
  if (!/^\d{1,5}$/.test(s) || Number(s) < min || Number(s) > 65535) {
    throw new UsageError(`invalid port "${s}" (expected a number from ${min} to 65535)`);
  }
  return Number(s);
}

/** looksLikeTarget tells a TARGET from the first word of a message: it has a scheme or ends in :port. */
export function looksLikeTarget(text: string): boolean {
  return SCHEME.test(text) || /^(\[[^\]]*\]|[^\s:]*):\d+$/.test(text);
}

/** parseTarget reads one TARGET, or throws a UsageError that shows the accepted forms. */
export function parseTarget(text: string, defaults: TargetDefaults): Target {
  const scheme = SCHEME.exec(text.trim());
  const other = scheme ? null : /^([a-z][a-z0-9+.-]*):\/\//i.exec(text.trim());
  if (other) throw bad(text, `unknown scheme "${other[1]}://"`);
  const transport = (scheme?.[1]?.toLowerCase() as Transport | undefined) ?? defaults.transport;
  const rest = scheme ? scheme[2]! : text.trim();
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) throw bad(text, "missing ]");
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) throw bad(text, `unexpected "${after}" after ]`);
    portText = after === "" ? undefined : after.slice(1);
    if (!isIPv6(host)) throw bad(text, `"${host}" is not an IPv6 address`);
  } else {
    const colons = rest.split(":").length - 1;
    if (colons > 1) throw bad(text, "an IPv6 address needs brackets, as in [::1]:12000");
    const at = rest.indexOf(":");
    host = at < 0 ? rest : rest.slice(0, at);
    portText = at < 0 ? undefined : rest.slice(at + 1);
    if (host === "") host = defaults.host;
    else if (!HOST_NAME.test(host)) throw bad(text, `"${host}" is not a host name or address`);
  }
  let port: number;
  if (portText === undefined) {
    if (defaults.port === undefined) throw bad(text, "missing port");
    port = defaults.port;
  } else {
    port = parsePort(portText);
  }
  return { transport, host, port };
}

function bad(text: string, why: string): UsageError {
  return new UsageError(`invalid target "${text}": ${why} (expected host:port, tcp://host:port or udp://[::1]:port)`);
}
