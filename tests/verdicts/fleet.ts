// One machine's worth of real services on loopback (redis with and without a password, sshd, memcached, nginx HTTP and
// HTTPS), started and stopped together.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { daysFromNow, makeCertificate, type Certificate } from "./pki.ts";
import { startDnsmasq, startMemcached, startNginx, startRedis, startSshd, type Running } from "./servers.ts";

export interface Fleet {
  redis: number;
  redisAuth: number;
  sshd: number;
  memcached: number;
  http: number;
  https: number;
  /** dns is dnsmasq's port, UDP and TCP. */
  dns: number;
  /** cert is the HTTPS server's certificate (self-signed: trust it with --ca cert.cert). */
  cert: Certificate;
  dir: string;
  stop(): void;
}

/** startFleet starts every service, each on a free port with its files in one temporary directory. */
export async function startFleet(): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), "upcat-fleet-"));
  const running: { stop(): void }[] = [];
  const keep = <T extends { stop(): void }>(r: T) => (running.push(r), r);
  const stop = () => {
    for (const r of running) r.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const cert = makeCertificate(dir, "localhost", daysFromNow(-1), daysFromNow(60));
    const sub = (name: string) => {
      const path = join(dir, name);
      Bun.spawnSync(["mkdir", "-p", path]);
      return path;
    };
    const [redis, redisAuth, sshd, memcached, nginx, dns] = await Promise.all([
      startRedis(sub("redis")).then(keep),
      startRedis(sub("redis-auth"), "s3cret").then(keep),
      startSshd(sub("sshd")).then(keep),
      startMemcached().then(keep),
      startNginx(sub("nginx"), cert).then(keep),
      startDnsmasq().then(keep),
    ]);
    return {
      redis: (redis as Running).port,
      redisAuth: (redisAuth as Running).port,
      sshd: (sshd as Running).port,
      memcached: (memcached as Running).port,
      http: nginx.http,
      https: nginx.https,
      dns: (dns as Running).port,
      cert,
      dir,
      stop,
    };
  } catch (err) {
    stop();
    throw err;
  }
}

/** runbookLines is a service's runbook: seven checks, each with its own probe, as --file lines. */
export function runbookLines(f: Fleet): string[] {
  return [
    `127.0.0.1:${f.redis} --send 'PING\\r\\n' --expect +PONG`,
    `127.0.0.1:${f.redis} --send 'INFO replication\\r\\n' --match '^role:master'`,
    `127.0.0.1:${f.sshd} --match '^SSH-2\\.0-OpenSSH'`,
    `127.0.0.1:${f.memcached} --send 'version\\r\\n' --expect 'VERSION 1.'`,
    `127.0.0.1:${f.http} --send 'GET / HTTP/1.0\\r\\n\\r\\n' --expect 'HTTP/1.1 200'`,
    `127.0.0.1:${f.https} --tls --ca ${f.cert.cert} --cert-days 14,7`,
    `127.0.0.1:${f.https} --tls --ca ${f.cert.cert} --send 'GET / HTTP/1.0\\r\\n\\r\\n' --expect 'HTTP/1.1 200'`,
  ];
}
