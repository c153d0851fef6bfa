// Issue 12's differential matrix: plain, banner, silent, closing and resetting peers and openssl s_server (valid,
// expiring, expired, self-signed) × check options, check_tcp as the oracle.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { judge, inBatches, listedDifferences, type Cell, verdicts } from "./oracle.ts";
import { daysFromNow, makeCertificate, type Certificate } from "./pki.ts";
import { startTlsServer, startToy, type Running, type Toy } from "./servers.ts";

const CRLF = "\r\n";
// check_tcp sends -s as typed (no escapes); upcat reads \r\n in --send. The same bytes go out.
const GET = { upcat: "GET / HTTP/1.0\\r\\n\\r\\n", checkTcp: `GET / HTTP/1.0${CRLF}${CRLF}` };

/** Cells every plain peer gets: a connect, --expect (number-like ones too), --match, --send, --tls, thresholds. */
const PLAIN_CELLS: Cell[] = [
  { name: "connect", upcat: [], checkTcp: [] },
  { name: "expect 220", upcat: ["--expect", "220"], checkTcp: ["-e", "220"] },
  { name: "expect 250 (not the greeting)", upcat: ["--expect", "250"], checkTcp: ["-e", "250"] },
  { name: "expect 0220 (text, not the number 220)", upcat: ["--expect", "0220"], checkTcp: ["-e", "0220"] },
  { name: "expect 220.0 (text, not the number 220)", upcat: ["--expect", "220.0"], checkTcp: ["-e", "220.0"] },
  // check_tcp has no regular expressions: the oracle looks for the text the pattern pins to a line start.
  { name: "match ^220 mail (line-anchored)", upcat: ["--match", "^220 mail"], checkTcp: ["-e", "220 mail"] },
  {
    name: "send hello, expect it back",
    upcat: ["--send", "hello\\r\\n", "--expect", "hello"],
    checkTcp: ["-s", `hello${CRLF}`, "-e", "hello"],
  },
  { name: "tls", upcat: ["--tls"], checkTcp: ["-S"] },
  { name: "tls --insecure", upcat: ["--tls", "--insecure"], checkTcp: ["-S"] },
  {
    name: "tls --insecure --cert-days 14",
    upcat: ["--tls", "--insecure", "--cert-days", "14"],
    checkTcp: ["-S", "-D", "14"],
  },
  {
    name: "warning 0.000001 s (sub-millisecond)",
    upcat: ["--warning", "0.000001", "--critical", "5"],
    checkTcp: ["-w", "0.000001", "-c", "5"],
  },
];

/** Cells for a TLS peer whose certificate is `cert` (trusted with --ca unless `trusted` is false). */
function tlsCells(cert: Certificate, trusted: boolean, differs: { tls?: string; certDays?: string } = {}): Cell[] {
  const ca = trusted ? ["--ca", cert.cert] : [];
  return [
    { name: "tls", upcat: ["--tls", ...ca], checkTcp: ["-S"], differs: differs.tls },
    { name: "tls --insecure", upcat: ["--tls", "--insecure"], checkTcp: ["-S"] },
    {
      name: "tls --cert-days 14",
      upcat: ["--tls", ...ca, "--cert-days", "14"],
      checkTcp: ["-S", "-D", "14"],
      differs: differs.certDays,
    },
    {
      name: "tls --insecure --cert-days 14",
      upcat: ["--tls", "--insecure", "--cert-days", "14"],
      checkTcp: ["-S", "-D", "14"],
    },
    {
      name: "tls --insecure --cert-days 14,10",
      upcat: ["--tls", "--insecure", "--cert-days", "14,10"],
      checkTcp: ["-S", "-D", "14,10"],
    },
    {
      name: "tls --insecure --cert-days 10 (days_left <= N warns)",
      upcat: ["--tls", "--insecure", "--cert-days", "10"],
      checkTcp: ["-S", "-D", "10"],
    },
    {
      name: "tls, send GET, expect 200",
      upcat: ["--tls", "--insecure", "--send", GET.upcat, "--expect", "HTTP/1.0 200"],
      checkTcp: ["-S", "-s", GET.checkTcp, "-e", "HTTP/1.0 200"],
    },
    {
      name: "tls, --nagios --cert-days and --nagios thresholds",
      upcat: ["--tls", "--insecure", "--cert-days", "5", "--warning", "0.000001"],
      checkTcp: ["-S", "-D", "5", "-w", "0.000001"],
    },
    // Without --tls the TLS port is just a port: open; it says nothing first, so an --expect times out.
    { name: "connect (no tls)", upcat: [], checkTcp: [] },
    { name: "expect without tls", upcat: ["--expect", "220"], checkTcp: ["-e", "220"] },
  ];
}

interface Peer {
  name: string;
  running: Running;
  cells: Cell[];
  /** serial: openssl s_server takes one connection at a time, so its cells go one after another. */
  serial: boolean;
}

const peers: Peer[] = [];
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "upcat-verdicts-"));
  for (const toy of ["plain", "banner", "silent", "close", "reset"] as Toy[]) {
    peers.push({ name: toy, running: await startToy(toy), cells: PLAIN_CELLS, serial: false });
  }
  const certs = {
    valid: makeCertificate(dir, "valid", daysFromNow(-1), daysFromNow(90)),
    // Ten and a half days: check_tcp counts 10 (truncated), so -D 10 warns and -D 14,10 is critical.
    expiring: makeCertificate(dir, "expiring", daysFromNow(-1), daysFromNow(10.5)),
    expired: makeCertificate(dir, "expired", daysFromNow(-30), daysFromNow(-2)),
    selfSigned: makeCertificate(dir, "self-signed", daysFromNow(-1), daysFromNow(90)),
  };
  const tls = async (
    name: string,
    cert: Certificate,
    trusted: boolean,
    differs?: { tls?: string; certDays?: string },
  ) => peers.push({ name, running: await startTlsServer(cert), cells: tlsCells(cert, trusted, differs), serial: true });
  await tls("s_server valid", certs.valid, true);
  await tls("s_server expiring in 10.5 days", certs.expiring, true);
  // check_tcp -S does not verify the chain, or the dates unless -D asks: an expired certificate is OK to it.
  await tls("s_server expired", certs.expired, true, { tls: "chain" });
  await tls("s_server self-signed, not trusted", certs.selfSigned, false, { tls: "chain", certDays: "chain" });
}, 60_000);

afterAll(() => {
  for (const p of peers) p.running.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("every cell: upcat --nagios gives check_tcp's status, or a difference the README lists", async () => {
  const listed = listedDifferences();
  const queues = new Map<Peer, Promise<unknown>>();
  const tasks = peers.flatMap((peer) =>
    peer.cells.map((cell) => async () => {
      const one = async () => {
        const v = await verdicts(
          { ...cell, upcat: [...cell.upcat, "--timeout", "1s"], checkTcp: [...cell.checkTcp, "-t", "4"] },
          `127.0.0.1:${peer.running.port}`,
          "127.0.0.1",
          peer.running.port,
        );
        return {
          where: `${peer.name} / ${cell.name}`,
          problem: judge({ ...cell, name: `${peer.name} / ${cell.name}` }, v, listed),
          v,
        };
      };
      if (!peer.serial) return one();
      const before = queues.get(peer) ?? Promise.resolve();
      const mine = before.then(one, one);
      queues.set(peer, mine);
      return mine;
    }),
  );
  const results = await inBatches(tasks, 12);
  const problems = results.map((r) => r.problem).filter(Boolean);
  expect(problems).toEqual([]);
  // The matrix is not vacuous: both tools said OK, WARNING and CRITICAL somewhere, and the cells ran.
  expect(results.length).toBe(5 * PLAIN_CELLS.length + 4 * 10);
  expect(new Set(results.map((r) => r.v.oracle))).toEqual(new Set([0, 1, 2]));
}, 120_000);
