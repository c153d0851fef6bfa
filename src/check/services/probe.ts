// One try of a service URL: the service's own check at each address of its host, then --expect / --match.
import type { Outcome } from "../result.ts";
import { dialEach } from "../../transport/dial-each.ts";
import { unresolved, wrongAddress } from "../outcomes.ts";
import type { ServiceKind, ServiceTarget } from "./endpoint.ts";
import type { ServiceProbe } from "./service.ts";
import { probeAmqp } from "./amqp.ts";
import { probeDns } from "./dns.ts";
import { probeMemcached } from "./memcached.ts";
import { probeMysql } from "./mysql.ts";
import { probePostgres } from "./postgres.ts";
import { probeRedis } from "./redis.ts";
import { probeSmtp } from "./smtp.ts";
import { probeSsh } from "./ssh.ts";

const PROBES: Record<ServiceKind, ServiceProbe> = {
  postgres: probePostgres,
  mysql: probeMysql,
  redis: probeRedis,
  memcached: probeMemcached,
  amqp: probeAmqp,
  smtp: probeSmtp,
  ssh: probeSsh,
  dns: probeDns,
};

export interface ServiceProbeOptions {
  readonly timeoutMs: number;
  /** password is --password-file's or the environment's; the URL's own wins over it. */
  readonly password?: string;
  /** tls is --ca and --insecure, for the services that speak TLS. */
  readonly tls?: { readonly ca?: string; readonly insecure: boolean };
  readonly wanted?: (reply: Uint8Array) => boolean;
}

/** serviceProbe makes one try of a service target; it never throws for a network failure. */
export async function serviceProbe(target: ServiceTarget, opts: ServiceProbeOptions): Promise<Outcome> {
  const { service } = target;
  const check = PROBES[service.kind];
  const password = service.password ?? opts.password;
  const tryAt = (address: string) =>
    check({
      address,
      port: target.port,
      host: target.host,
      endpoint: service,
      timeoutMs: opts.timeoutMs,
      password,
      trust: opts.tls,
    });
  const started = performance.now();
  let outcome: Outcome;
  try {
    // dns:// without a server asks the system's resolver: there is no address to dial.
    outcome = target.host === "" ? await tryAt("") : await dialEach(target.host, target.transport, tryAt, wrongAddress);
  } catch (err) {
    return unresolved(err, started);
  }
  if (outcome.state === "open" && opts.wanted && !opts.wanted(outcome.reply ?? new Uint8Array(0)))
    return { ...outcome, state: "mismatch", cause: "mismatch", error: "the reply did not match" };
  return outcome;
}
