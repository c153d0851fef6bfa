// upcat exporter beside Debian's Blackbox exporter, probing the same loopback targets: probe_success and the metrics
// both name agree, and promtool passes every answer.
import type { TCPSocketListener } from "bun";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HttpPeer, startHttpPeer } from "../check/http-peers.ts";
import { freePort } from "../support/peers.ts";
import { selfSigned } from "../verdicts/pki.ts";
import { DNS_NAME, type Running, startDnsmasq, startRedis, startTlsServer } from "../verdicts/servers.ts";
import { type Exporter, get, probeUrl, promtoolCheck, series, startBlackbox, startUpcat } from "./exporters.ts";

const dir = mkdtempSync(join(tmpdir(), "upcat-exporter-"));
const cert = selfSigned(dir, "tls.test", 10);

/** The modules of both: Blackbox's YAML, and the same asked of upcat in its own options. */
const BLACKBOX = `
modules:
  tcp_connect:
    prober: tcp
    tcp: { preferred_ip_protocol: ip4 }
  http_2xx:
    prober: http
    http: { preferred_ip_protocol: ip4, follow_redirects: false }
  https_ca:
    prober: http
    http: { preferred_ip_protocol: ip4, tls_config: { ca_file: "${cert.cert}" } }
  tls_ca:
    prober: tcp
    tcp: { preferred_ip_protocol: ip4, tls: true, tls_config: { ca_file: "${cert.cert}" } }
  redis_ping:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
      query_response: [{ send: "PING" }, { expect: "^\\\\+PONG" }]
  redis_nope:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
      query_response: [{ send: "PING" }, { expect: "^\\\\+NOPE" }]
  dns_a:
    prober: dns
    dns: { preferred_ip_protocol: ip4, transport_protocol: udp, query_name: "${DNS_NAME}", query_type: A }
  dns_missing:
    prober: dns
    dns: { preferred_ip_protocol: ip4, transport_protocol: udp, query_name: "missing.test", query_type: A }
`;
const UPCAT = [
  `https_ca: --ca ${cert.cert}`,
  `tls_ca: --tls --ca ${cert.cert}`,
  "redis_ping: --send 'PING\\r\\n' --match '^\\+PONG'",
  "redis_nope: --send 'PING\\r\\n' --match '^\\+NOPE'",
  "",
].join("\n");

/** SHARED are the series both exporters write with one meaning; times are left out, as they differ run to run. */
const SHARED = [
  "probe_success",
  "probe_http_status_code",
  "probe_http_ssl",
  "probe_ip_protocol",
  "probe_ssl_earliest_cert_expiry",
  "probe_failed_due_to_regex",
];

let upcat: Exporter;
let blackbox: Exporter;
let http: HttpPeer;
let tls: Running;
let redis: Running;
let dns: Running;
let open: TCPSocketListener;
let refused: number;

beforeAll(async () => {
  writeFileSync(join(dir, "modules.txt"), UPCAT);
  [upcat, blackbox, http, tls, redis, dns] = await Promise.all([
    startUpcat(["--config", join(dir, "modules.txt"), "--allow-target", "127.0.0.1"]),
    startBlackbox(dir, BLACKBOX),
    startHttpPeer(),
    startTlsServer(cert),
    startRedis(dir),
    startDnsmasq(),
  ]);
  open = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  refused = await freePort();
}, 30_000);

afterAll(async () => {
  open?.stop(true);
  for (const peer of [http, tls, redis, dns]) peer?.stop();
  await Promise.all([upcat?.stop(), blackbox?.stop()]);
});

/** Case is one target as each exporter is asked for it: the same server, each in its own words. */
interface Case {
  name: string;
  upcat: () => [target: string, module?: string];
  blackbox: () => [target: string, module: string];
  success: 0 | 1;
  /** expect are upcat's series that must be there, with their values. */
  expect?: () => Record<string, number>;
  /** differs are the shared series whose values differ, and why (the README's list says the same). */
  differs?: Record<string, string>;
}

const CASES: Case[] = [
  {
    name: "an open port",
    upcat: () => [`127.0.0.1:${open.port}`, "tcp"],
    blackbox: () => [`127.0.0.1:${open.port}`, "tcp_connect"],
    success: 1,
    expect: () => ({ probe_ip_protocol: 4 }),
  },
  {
    name: "a refused port",
    upcat: () => [`127.0.0.1:${refused}`, "tcp_connect"],
    blackbox: () => [`127.0.0.1:${refused}`, "tcp_connect"],
    success: 0,
  },
  {
    name: "HTTP 200",
    upcat: () => [`${http.base}/status/200`, "http_2xx"],
    blackbox: () => [`${http.base}/status/200`, "http_2xx"],
    success: 1,
    expect: () => ({ probe_http_status_code: 200, probe_http_ssl: 0 }),
  },
  {
    name: "HTTP 500",
    upcat: () => [`${http.base}/status/500`, "http_2xx"],
    blackbox: () => [`${http.base}/status/500`, "http_2xx"],
    success: 0,
    expect: () => ({ probe_http_status_code: 500 }),
  },
  {
    name: "an HTTP redirect (not followed: Blackbox configured so, upcat's http_2xx by default)",
    upcat: () => [`${http.base}/redirect/1`, "http_2xx"],
    blackbox: () => [`${http.base}/redirect/1`, "http_2xx"],
    success: 0,
    expect: () => ({ probe_http_status_code: 302 }),
  },
  {
    name: "a host:port under http_2xx (read as http://, as Blackbox does)",
    upcat: () => [`127.0.0.1:${http.port}`, "http_2xx"],
    blackbox: () => [`127.0.0.1:${http.port}`, "http_2xx"],
    success: 1,
    expect: () => ({ probe_http_status_code: 200 }),
  },
  {
    name: "TLS with a 10-day certificate",
    upcat: () => [`127.0.0.1:${tls.port}`, "tls_ca"],
    blackbox: () => [`127.0.0.1:${tls.port}`, "tls_ca"],
    success: 1,
    expect: () => ({ 'probe_tls_version_info{version="TLS 1.3"}': 1 }),
  },
  {
    name: "HTTPS with a 10-day certificate",
    upcat: () => [`https://127.0.0.1:${tls.port}/`, "https_ca"],
    blackbox: () => [`https://127.0.0.1:${tls.port}/`, "https_ca"],
    success: 1,
    expect: () => ({ probe_http_ssl: 1, probe_http_status_code: 200 }),
  },
  {
    name: "redis, by its URL (no module)",
    upcat: () => [`redis://127.0.0.1:${redis.port}`],
    blackbox: () => [`127.0.0.1:${redis.port}`, "redis_ping"],
    success: 1,
    expect: () => ({ probe_ip_protocol: 4 }),
  },
  {
    name: "redis, by a module of per-target options",
    upcat: () => [`127.0.0.1:${redis.port}`, "redis_ping"],
    blackbox: () => [`127.0.0.1:${redis.port}`, "redis_ping"],
    success: 1,
    expect: () => ({ probe_failed_due_to_regex: 0 }),
  },
  {
    name: "redis, answering other than the module expects",
    upcat: () => [`127.0.0.1:${redis.port}`, "redis_nope"],
    blackbox: () => [`127.0.0.1:${redis.port}`, "redis_nope"],
    success: 0,
    expect: () => ({ probe_failed_due_to_regex: 1 }),
    differs: {
      // Blackbox's tcp prober reads on until --timeout for a line that matches, and then fails on time, not the regex.
      probe_failed_due_to_regex: "Blackbox's TCP expect waits out the timeout; upcat fails on the reply it has",
    },
  },
  {
    name: "a DNS name through dnsmasq",
    upcat: () => [`dns://127.0.0.1:${dns.port}/${DNS_NAME}`],
    blackbox: () => [`127.0.0.1:${dns.port}`, "dns_a"],
    success: 1,
    expect: () => ({ probe_ip_protocol: 4 }),
  },
  {
    name: "a DNS name dnsmasq does not know",
    upcat: () => [`dns://127.0.0.1:${dns.port}/missing.test`],
    blackbox: () => [`127.0.0.1:${dns.port}`, "dns_missing"],
    success: 0,
  },
];

describe("upcat exporter and Blackbox agree on the same loopback targets", () => {
  test.each(CASES)("$name", async (c) => {
    const [ours, theirs] = await Promise.all([
      get(probeUrl(upcat, ...c.upcat())),
      get(probeUrl(blackbox, ...c.blackbox())),
    ]);
    expect(ours.status).toBe(200);
    expect(theirs.status).toBe(200);
    expect(ours.contentType).toStartWith("text/plain; version=0.0.4");
    expect(promtoolCheck(ours.text)).toEqual({ status: 0, said: "" });
    const a = series(ours.text);
    const b = series(theirs.text);
    expect({ upcat: a.get("probe_success"), blackbox: b.get("probe_success") }).toEqual({
      upcat: c.success,
      blackbox: c.success,
    });
    // Every series both write means the same: equal values (the expiry to the second, as both read notAfter).
    for (const [key, value] of a) {
      const name = key.replace(/\{.*$/, "");
      if (!SHARED.includes(name) && name !== "probe_tls_version_info") continue;
      if (!b.has(key)) continue;
      if (c.differs?.[key]) expect({ [key]: value }).not.toEqual({ [key]: b.get(key)! });
      else expect({ [key]: value }).toEqual({ [key]: b.get(key)! });
    }
    for (const [key, value] of Object.entries(c.expect?.() ?? {}))
      expect({ [key]: a.get(key) }).toEqual({ [key]: value });
    expect(a.get("probe_duration_seconds")).toBeGreaterThan(0);
    expect(a.has("probe_dns_lookup_time_seconds")).toBe(true);
  });

  test("the certificate's expiry is the same second in both, about 10 days ahead", async () => {
    const [ours, theirs] = await Promise.all([
      get(probeUrl(upcat, `127.0.0.1:${tls.port}`, "tls_ca")),
      get(probeUrl(blackbox, `127.0.0.1:${tls.port}`, "tls_ca")),
    ]);
    const expiry = series(ours.text).get("probe_ssl_earliest_cert_expiry")!;
    expect(expiry).toBe(series(theirs.text).get("probe_ssl_earliest_cert_expiry")!);
    const days = (expiry - Date.now() / 1000) / 86400;
    expect(days).toBeGreaterThan(9.9);
    expect(days).toBeLessThanOrEqual(10);
  });
});
