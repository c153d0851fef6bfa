// One try of a service URL: the service's own check at each address of its host, then --expect / --match.
import type { Outcome } from "../result.ts";
import { dialEach } from "../../transport/dial-each.ts";
import { unresolved, wrongAddress } from "../outcomes.ts";
import type { ServiceKind, ServiceTarget } from "./endpoint.ts";
import type { ServiceProbe } from "./service.ts";
// Each service's module loads when a target of its kind is checked: a bare port check (and a compiled binary's
// start-up) reads none of them.
const PROBES: Record<ServiceKind, () => Promise<ServiceProbe>> = {
  postgres: async () => (await import("./postgres.ts")).probePostgres,
  mysql: async () => (await import("./mysql.ts")).probeMysql,
  redis: async () => (await import("./redis.ts")).probeRedis,
  memcached: async () => (await import("./memcached.ts")).probeMemcached,
  amqp: async () => (await import("./amqp.ts")).probeAmqp,
  smtp: async () => (await import("./smtp.ts")).probeSmtp,
  ssh: async () => (await import("./ssh.ts")).probeSsh,
  dns: async () => (await import("./dns.ts")).probeDns,
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
  const check = await PROBES[service.kind]();
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
