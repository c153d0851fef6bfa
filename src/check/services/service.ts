// What every service check (postgres, mysql, redis, ...) is given and returns: one try at one address.
import type { Outcome } from "../result.ts";
import type { ServiceEndpoint } from "./endpoint.ts";

/** ServiceContext is one try of a service URL at one address. */
export interface ServiceContext {
  /** address is the IP address to dial; "" for a dns:// URL with no server, which asks the system's resolver. */
  readonly address: string;
  readonly port: number;
  /** host is the target's host as written: the TLS server name when it is a name. */
  readonly host: string;
  readonly endpoint: ServiceEndpoint;
  /** timeoutMs bounds the whole try: connect, exchange and goodbye. */
  readonly timeoutMs: number;
  /** password is the URL's, else --password-file's, else the service's own environment variable's. */
  readonly password?: string;
  /** trust is --ca and --insecure, for a service URL that asks for TLS (rediss://). */
  readonly trust?: { readonly ca?: string; readonly insecure: boolean };
}

/**
 * ServiceProbe makes one try. It returns an Outcome for every answer and every network failure (never throws for
 * them): `open` when the service is ready, `not_ready` with the server's own words when it said it is not, `mismatch`
 * naming what answered when something else did. `reply` is the service's answer as text lines (a greeting, PONG, the
 * DNS answer records), which --expect and --match then
 * read (the caller applies them).
 */
export type ServiceProbe = (ctx: ServiceContext) => Promise<Outcome>;
