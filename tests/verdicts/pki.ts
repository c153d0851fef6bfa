// Test certificates made with openssl: valid, expiring, expired (dates in the past, which `req -days` cannot make) and
// self-signed.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireTool } from "../support/peers.ts";

export interface Certificate {
  cert: string;
  key: string;
}

/**
 * selfSigned writes a self-signed certificate for `name` valid `days` days from now (`req -x509`, quicker than
 * makeCertificate where no date in the past is needed), naming `ips` in its subjectAltName, and returns its paths.
 */
export function selfSigned(dir: string, name: string, days = 10, ips = ["127.0.0.1"]): Certificate {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const san = [`DNS:${name}`, ...ips.map((ip) => `IP:${ip}`)].join(",");
  const r = Bun.spawnSync([
    requireTool("openssl"),
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    String(days),
    "-subj",
    `/CN=${name}`,
    "-addext",
    `subjectAltName=${san}`,
  ]);
  if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { cert, key };
}

const stamp = (d: Date) => `${d.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;

/**
 * makeCertificate writes a self-signed certificate for `name` and 127.0.0.1 valid from `from` to `to`
 * (`openssl ca -selfsign` takes any dates), and returns the paths of the PEM certificate and key.
 */
export function makeCertificate(dir: string, name: string, from: Date, to: Date): Certificate {
  const openssl = requireTool("openssl");
  const base = join(dir, name);
  const cert = `${base}.pem`;
  const key = `${base}.key`;
  const config = `${base}.cnf`;
  mkdirSync(`${base}.ca`, { recursive: true });
  writeFileSync(`${base}.ca/index.txt`, "");
  writeFileSync(`${base}.ca/serial`, `${(Date.now() % 1e9).toString(16).padStart(8, "0")}\n`);
  writeFileSync(
    config,
    [
      "[ca]",
      "default_ca = d",
      "[d]",
      `database = ${base}.ca/index.txt`,
      `serial = ${base}.ca/serial`,
      `new_certs_dir = ${base}.ca`,
      "default_md = sha256",
      "policy = p",
      "unique_subject = no",
      "[p]",
      "commonName = supplied",
      "[ext]",
      `subjectAltName = DNS:${name},IP:127.0.0.1`,
      "basicConstraints = CA:TRUE",
      "",
    ].join("\n"),
  );
  const csr = `${base}.csr`;
  const run = (args: string[]) => {
    const r = Bun.spawnSync([openssl, ...args]);
    if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  run(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${name}`]);
  run([
    "ca",
    "-batch",
    "-selfsign",
    "-config",
    config,
    "-extensions",
    "ext",
    "-keyfile",
    key,
    "-in",
    csr,
    "-out",
    cert,
    "-startdate",
    stamp(from),
    "-enddate",
    stamp(to),
    "-notext",
  ]);
  return { cert, key };
}

const DAY = 86_400_000;

/** daysFromNow is a date `days` (fractional, negative for the past) from now. */
export const daysFromNow = (days: number) => new Date(Date.now() + days * DAY);
