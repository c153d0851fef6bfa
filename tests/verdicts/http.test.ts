// upcat check --nagios on http(s):// targets beside check_http on the same servers: the same status, or a difference
// the README lists.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHttpPeer, startNotHttp, type HttpPeer } from "../check/http-peers.ts";
import { freePort, runPeer } from "../support/peers.ts";
import { fromSource, run } from "../support/run.ts";
import { inBatches, judge, listedDifferences, plugin, type Verdicts } from "./oracle.ts";
import { daysFromNow, makeCertificate, type Certificate } from "./pki.ts";
import { startNginx } from "./servers.ts";

/**
 * HttpCell is one URL × one set of options, said for both tools: upcat's URL and check_http's -u PATH on the same port.
 */
interface HttpCell {
  name: string;
  server: "peer" | "nginx" | "nginx-tls" | "banner" | "closed";
  path: string;
  upcat: string[];
  checkHttp: string[];
  differs?: string;
}

const cells: HttpCell[] = [
  { name: "200", server: "peer", path: "/status/200", upcat: [], checkHttp: [] },
  { name: "204", server: "peer", path: "/status/204", upcat: [], checkHttp: [] },
  { name: "404 is WARNING", server: "peer", path: "/status/404", upcat: [], checkHttp: [] },
  { name: "500 is CRITICAL", server: "peer", path: "/status/500", upcat: [], checkHttp: [] },
  { name: "503 is CRITICAL", server: "peer", path: "/status/503", upcat: [], checkHttp: [] },
  { name: "a 302 not followed", server: "peer", path: "/redirect/2", upcat: [], checkHttp: [], differs: "redirect" },
  {
    name: "a 302 allowed by --status",
    server: "peer",
    path: "/redirect/2",
    upcat: ["--status", "200-399"],
    checkHttp: [],
  },
  {
    name: "redirects followed",
    server: "peer",
    path: "/redirect/3",
    upcat: ["--follow", "--expect", "arrived"],
    checkHttp: ["-f", "follow", "-s", "arrived"],
  },
  { name: "a redirect loop", server: "peer", path: "/loop", upcat: ["--follow"], checkHttp: ["-f", "follow"] },
  { name: "404 wanted", server: "peer", path: "/status/404", upcat: ["--status", "404"], checkHttp: ["-e", "404"] },
  {
    name: "404 wanted, 200 came",
    server: "peer",
    path: "/status/200",
    upcat: ["--status", "404"],
    checkHttp: ["-e", "404"],
  },
  {
    name: "2xx wanted, 404 came",
    server: "peer",
    path: "/status/404",
    upcat: ["--status", "200-299"],
    checkHttp: ["-e", "200,201,202,203,204,205,206"],
  },
  {
    name: "body has the string",
    server: "peer",
    path: "/status/200",
    upcat: ["--expect", "status 200"],
    checkHttp: ["-s", "status 200"],
  },
  {
    name: "body lacks the string",
    server: "peer",
    path: "/status/200",
    upcat: ["--expect", "nothere"],
    checkHttp: ["-s", "nothere"],
  },
  {
    name: "body matches the regex",
    server: "peer",
    path: "/status/200",
    upcat: ["--match", "^status [0-9]+$"],
    checkHttp: ["-r", "^status [0-9]+$"],
  },
  {
    name: "body misses the regex",
    server: "peer",
    path: "/status/200",
    upcat: ["--match", "^nope"],
    checkHttp: ["-r", "^nope"],
  },
  {
    name: "slow headers past the timeout",
    server: "peer",
    path: "/slow-headers",
    upcat: ["--timeout", "1s"],
    checkHttp: ["-t", "1"],
  },
  {
    name: "POST with a body",
    server: "peer",
    path: "/echo",
    upcat: ["--send", "k=v", "--expect", "body k=v"],
    checkHttp: ["-P", "k=v", "-s", "body k=v"],
  },
  {
    name: "a header sent",
    server: "peer",
    path: "/echo",
    upcat: ["--header", "X-Check: yes", "--expect", "x-check: yes"],
    checkHttp: ["-k", "X-Check: yes", "-s", "x-check: yes"],
  },
  {
    name: "nginx page",
    server: "nginx",
    path: "/",
    upcat: ["--expect", "upcat verdicts"],
    checkHttp: ["-s", "upcat verdicts"],
  },
  {
    name: "nginx over TLS",
    server: "nginx-tls",
    path: "/",
    upcat: ["--ca", "{ca}", "--expect", "over tls"],
    checkHttp: ["-S", "-s", "over tls"],
  },
  {
    name: "certificate inside --cert-days",
    server: "nginx-tls",
    path: "/",
    upcat: ["--ca", "{ca}", "--cert-days", "14,7"],
    checkHttp: ["-S", "-C", "14,7"],
  },
  {
    name: "certificate outside --cert-days",
    server: "nginx-tls",
    path: "/",
    upcat: ["--ca", "{ca}", "--cert-days", "5"],
    checkHttp: ["-S", "-C", "5"],
  },
  { name: "a port that speaks SSH", server: "banner", path: "/", upcat: ["--timeout", "1s"], checkHttp: ["-t", "1"] },
  { name: "a closed port", server: "closed", path: "/", upcat: [], checkHttp: [] },
];

let peer: HttpPeer;
let banner: HttpPeer;
let nginx: { http: number; https: number; stop(): void };
let cert: Certificate;
let closed: number;
const dir = mkdtempSync(join(tmpdir(), "upcat-verdicts-http-"));

beforeAll(async () => {
  cert = makeCertificate(dir, "localhost", daysFromNow(-1), daysFromNow(10));
  [peer, nginx] = await Promise.all([startHttpPeer(), startNginx(mkdtempSync(join(dir, "nginx-")), cert)]);
  banner = startNotHttp();
  closed = await freePort();
}, 30_000);
afterAll(() => {
  peer?.stop();
  banner?.stop();
  nginx?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function verdicts(cell: HttpCell): Promise<Verdicts> {
  const port = { peer: peer.port, nginx: nginx.http, "nginx-tls": nginx.https, banner: banner.port, closed }[
    cell.server
  ];
  const scheme = cell.server === "nginx-tls" ? "https" : "http";
  const upcatArgs = cell.upcat.map((a) => a.replace("{ca}", cert.cert));
  const [ours, theirs] = await Promise.all([
    run(fromSource, ["check", "--nagios", `${scheme}://127.0.0.1:${port}${cell.path}`, ...upcatArgs], {
      timeoutMs: 20_000,
    }),
    runPeer(
      [plugin("check_http"), "-I", "127.0.0.1", "-p", String(port), "-u", cell.path, ...cell.checkHttp],
      undefined,
      20_000,
    ),
  ]);
  return {
    upcat: ours.status,
    upcatLine: ours.stdout.trim(),
    oracle: theirs.status ?? 2,
    oracleLine: theirs.stdout.trim(),
  };
}

test("every cell: upcat --nagios and check_http give the same status, or differ as the README lists", async () => {
  const listed = listedDifferences();
  const results = await inBatches(
    cells.map((cell) => async () => ({ cell, v: await verdicts(cell) })),
    4,
  );
  const problems = results
    .map(({ cell, v }) =>
      judge({ name: cell.name, upcat: cell.upcat, checkTcp: cell.checkHttp, differs: cell.differs }, v, listed),
    )
    .filter(Boolean);
  expect(problems).toEqual([]);
  // The matrix is not vacuous: it holds every status check_http gives.
  expect(new Set(results.map(({ v }) => v.oracle))).toEqual(new Set([0, 1, 2]));
}, 60_000);
