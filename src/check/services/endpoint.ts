// Reads a service URL (postgres://, redis://, dns://, ...) into the host, port and what the service check asks for.
import { UsageError } from "../../errors.ts";
import { redact } from "../../text/redact.ts";
import { quote } from "../../text/shown.ts";
import { ipVersion } from "../../transport/ip.ts";
import type { Transport } from "../../transport/transport.ts";
import { dnsQueryProblem } from "./dns-query.ts";

/** SERVICES are the services a check can speak to by URL, each with its schemes, port and transport. */
export const SERVICES = {
  postgres: { schemes: ["postgres", "postgresql"], port: 5432, transport: "tcp", env: "PGPASSWORD" },
  mysql: { schemes: ["mysql", "mariadb"], port: 3306, transport: "tcp", env: "MYSQL_PWD" },
  redis: { schemes: ["redis", "rediss"], port: 6379, transport: "tcp", env: "REDISCLI_AUTH" },
  memcached: { schemes: ["memcached"], port: 11211, transport: "tcp", env: undefined },
  amqp: { schemes: ["amqp"], port: 5672, transport: "tcp", env: undefined },
  smtp: { schemes: ["smtp"], port: 25, transport: "tcp", env: undefined },
  ssh: { schemes: ["ssh"], port: 22, transport: "tcp", env: undefined },
  dns: { schemes: ["dns"], port: 53, transport: "udp", env: undefined },
} as const satisfies Record<
  string,
  { schemes: readonly string[]; port: number; transport: Transport; env: string | undefined }
>;

/** ServiceKind is one of SERVICES. */
export type ServiceKind = keyof typeof SERVICES;

/** SERVICE_KINDS are the services in SERVICES' order. */
export const SERVICE_KINDS = Object.keys(SERVICES) as readonly ServiceKind[];

/** ServiceEndpoint is what a service URL asks of its service beyond a host and port. */
export interface ServiceEndpoint {
  readonly kind: ServiceKind;
  /** scheme is the URL's scheme as written, lower case: postgresql, mariadb and rediss are kept. */
  readonly scheme: string;
  /** url is the URL with its password hidden (user:***@): the name every report gives the target. */
  readonly url: string;
  /** user is the URL's user, percent-decoded; undefined when none is given. */
  readonly user?: string;
  /** password is the URL's password, percent-decoded: sent to the service, never printed. */
  readonly password?: string;
  /** path is the database, vhost, redis db or DNS name, percent-decoded, without its leading slash; "" when none. */
  readonly path: string;
  /** params are the URL's query parameters (sslmode=, type=), the last of a name winning. */
  readonly params: Readonly<Record<string, string>>;
  /** tls: rediss://, or a postgres sslmode that wants it. */
  readonly tls: boolean;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const BY_SCHEME = new Map<string, ServiceKind>(
  Object.entries(SERVICES).flatMap(([kind, s]) => s.schemes.map((scheme) => [scheme, kind as ServiceKind] as const)),
);

/** serviceOf says which service a TARGET names by its scheme, or undefined when it is no service URL. */
export function serviceOf(text: string): ServiceKind | undefined {
  const scheme = SCHEME.exec(text.trim())?.[1]?.toLowerCase();
  return scheme === undefined ? undefined : BY_SCHEME.get(scheme);
}

/** ServiceTarget is a service URL read into a transport, host and port, and its endpoint. */
export interface ServiceTarget {
  readonly transport: Transport;
  /** host is the name or IP address to dial; "" for a dns:// URL with no server (the system's resolver). */
  readonly host: string;
  readonly port: number;
  readonly service: ServiceEndpoint;
}

/** parseServiceUrl reads `scheme://[user[:password]@]host[:port][/path][?query]`; dns:// may leave the host out. */
export function parseServiceUrl(text: string): ServiceTarget {
  const raw = text.trim();
  const kind = serviceOf(raw);
  const shown = quote(redact(raw));
  const bad = (why: string): never => {
    throw new UsageError(`invalid target ${shown}: ${why}`);
  };
  if (!kind) return bad("not a service URL");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return bad(`not a URL (expected ${example(kind)})`);
  }
  const spec = SERVICES[kind];
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const bracketed = url.hostname.startsWith("[");
  const host = bracketed ? url.hostname.slice(1, -1) : url.hostname;
  if (bracketed && ipVersion(host) !== 6) bad(`"${host}" is not an IPv6 address`);
  if (host === "" && kind !== "dns") bad(`missing host (expected ${example(kind)})`);
  if (url.port === "0") bad('port "0" is not a number from 1 to 65535');
  if (url.hash) bad("a fragment (#) means nothing to a service check");
  const decode = (part: string, what: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return bad(`the ${what} is not valid percent-encoding`);
    }
  };
  const user = url.username === "" ? undefined : decode(url.username, "user");
  const password = url.password === "" ? undefined : decode(url.password, "password");
  const path = decode(url.pathname.replace(/^\//, ""), "path");
  const params: Record<string, string> = {};
  for (const [name, value] of url.searchParams) params[name] = value;
  if (kind === "dns") {
    const problem = dnsQueryProblem(path, params);
    if (problem) bad(problem);
  }
  const sslmode = params.sslmode;
  const tls = scheme === "rediss" || (kind === "postgres" && (sslmode === "require" || sslmode === "verify-full"));
  return {
    transport: spec.transport,
    host,
    port: url.port ? Number(url.port) : spec.port,
    service: { kind, scheme, url: redact(url.href), user, password, path, params, tls },
  };
}

function example(kind: ServiceKind): string {
  return kind === "dns" ? "dns://127.0.0.1/example.com?type=A" : `${SERVICES[kind].schemes[0]}://host[:port]`;
}
