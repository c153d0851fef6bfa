// Parses TARGET: tcp://host:port, udp://host:port, host:port (TCP) and [v6addr]:port.
import { UsageError } from "../errors.ts";
import { ipVersion } from "./ip.ts";
import type { Transport } from "./transport.ts";
import { quote } from "../text/shown.ts";

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

/**
 * parsePort reads a port number exactly as written (no sign, no spaces); `allowZero` is for servers, where 0 means any
 * free port.
 */
export function parsePort(text: string | number, allowZero = false): number {
  const min = allowZero ? 0 : 1;
  const port = portValue(String(text), min);
  if (port === undefined)
    throw new UsageError(`invalid port ${quote(String(text))} (expected a number from ${min} to 65535)`);
  return port;
}

/** portValue is the port a text names, digits only, from min to 65535; undefined for anything else. */
function portValue(text: string, min: number): number | undefined {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  return port >= min && port <= 65535 ? port : undefined;
}

/**
 * looksLikeTarget says whether a word is meant as a TARGET rather than text: it has a scheme, starts
 * with "[", or holds a ":" and no space. Such a word must then be a valid TARGET: it is never sent
 * as a message by guess.
 */
export function looksLikeTarget(text: string): boolean {
  return !/\s/.test(text) && (text.includes("://") || text.startsWith("[") || text.includes(":"));
}

/** parseTarget reads one TARGET, or throws a UsageError that shows the accepted forms. */
export function parseTarget(text: string, defaults: TargetDefaults): Target {
  const scheme = SCHEME.exec(text.trim());
  const other = scheme ? null : /^([a-z][a-z0-9+.-]*):\/\//i.exec(text.trim());
  if (other) bad(text, `unknown scheme "${other[1]}://"`);
  const transport = (scheme?.[1]?.toLowerCase() as Transport | undefined) ?? defaults.transport;
  const rest = scheme ? scheme[2]! : text.trim();
  if (scheme && rest === "") bad(text, `missing host after "${scheme[1]}://"`);
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) bad(text, "missing ]");
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) bad(text, `unexpected ${quote(after)} after ]`);
    portText = after === "" ? undefined : after.slice(1);
    if (ipVersion(host) !== 6) bad(text, `${quote(host)} is not an IPv6 address`);
  } else {
    const colons = rest.split(":").length - 1;
    if (colons > 1) bad(text, "an IPv6 address needs brackets, as in [::1]:12000");
    const at = rest.indexOf(":");
    host = at < 0 ? rest : rest.slice(0, at);
    portText = at < 0 ? undefined : rest.slice(at + 1);
    if (host === "") host = defaults.host;
    else if (host.length > 253 || !HOST_NAME.test(host)) bad(text, `${quote(host)} is not a host name or address`);
  }
  let port: number;
  if (portText === undefined) {
    if (defaults.port === undefined) bad(text, "missing port");
    port = defaults.port;
  } else if (portText === "") {
    bad(text, 'missing port after ":"');
  } else {
    port = portValue(portText, 1) ?? bad(text, `port ${quote(portText)} is not a number from 1 to 65535`);
  }
  return { transport, host, port };
}

function bad(text: string, why: string): never {
  throw new UsageError(
    `invalid target ${quote(text)}: ${why} (expected host:port, tcp://host:port or udp://[::1]:port)`,
  );
}
