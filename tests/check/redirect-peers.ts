// Hostile redirecting HTTP(S) peers for the --follow tests (tests/check/redirect_peer.py), each certificate made here
// with openssl, and what reached them read back from their logs.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool, startPeer } from "../support/peers.ts";
import { selfSigned } from "../verdicts/pki.ts";

const PEER = new URL("./redirect_peer.py", import.meta.url).pathname;

/** Arrival is one request head as a peer read it off the wire. */
export interface Arrival {
  host: string;
  port: number;
  tls: boolean;
  head: string;
}

export interface RedirectPeers {
  /** first is 127.0.0.1 with the certificate CN=upcat-first; second and other are CN=upcat-second. */
  first: string;
  /** second is another port of 127.0.0.1. */
  second: string;
  /** other is another host: 127.0.0.2. */
  other: string;
  /** ca is both certificates, PEM, as --ca takes them; caFile is the same in a file. */
  ca: string;
  caFile: string;
  /** arrivals is every request head logged so far, in order per peer. */
  arrivals(): Arrival[];
  stop(): void;
}

/** startRedirectPeers starts two peer processes: one per certificate, so a hop's certificate names its server. */
export async function startRedirectPeers(): Promise<RedirectPeers> {
  const dir = mkdtempSync(join(tmpdir(), "upcat-redirect-"));
  const python = requireTool("python3");
  const a = selfSigned(dir, "upcat-first", 10, ["127.0.0.1", "127.0.0.2"]);
  const b = selfSigned(dir, "upcat-second", 10, ["127.0.0.1", "127.0.0.2"]);
  const logs = [join(dir, "first.log"), join(dir, "second.log")];
  const one = await startPeer([python, PEER, logs[0]!, a.cert, a.key, "127.0.0.1"], /listening 127\.0\.0\.1 (\d+)/);
  const two = await startPeer(
    [python, PEER, logs[1]!, b.cert, b.key, "127.0.0.1", "127.0.0.2"],
    /listening 127\.0\.0\.1 (\d+)\nlistening 127\.0\.0\.2 (\d+)/,
  );
  const ca = readFileSync(a.cert, "utf8") + readFileSync(b.cert, "utf8");
  const caFile = join(dir, "ca.pem");
  writeFileSync(caFile, ca);
  return {
    first: `127.0.0.1:${one.match[1]}`,
    second: `127.0.0.1:${two.match[1]}`,
    other: `127.0.0.2:${two.match[2]}`,
    ca,
    caFile,
    arrivals: () =>
      logs
        .filter((log) => existsSync(log))
        .flatMap((log) => readFileSync(log, "utf8").split("\n").filter(Boolean))
        .map((line) => JSON.parse(line) as Arrival),
    stop() {
      one.proc.kill("SIGTERM");
      two.proc.kill("SIGTERM");
    },
  };
}

/** via is a peer path that answers `status` with Location `next`: nest them for a chain. */
export const via = (next: string, status = 302) => `/to/${status}?${encodeURIComponent(next)}`;

/** headerOf is one header's value in a request head, or undefined. */
export function headerOf(arrival: Arrival, name: string): string | undefined {
  const line = arrival.head.split("\r\n").find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}
