// dns:// checks (issue 27) against a dnsmasq of the test's own, with dig (+noall +answer) and check_dig as the oracles,
// and a python peer for what no real server does on demand: TC on every UDP reply, forged and wrong replies, loops.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { askSystemServers, systemServers } from "../../src/check/services/dns.ts";
import { dnsQuestion } from "../../src/check/services/dns-query.ts";
import { jsonRecord } from "../check/json-records.ts";
import { freePort, runPeer, startPeer, waitForListening } from "../support/peers.ts";
import { fromSource, run } from "../support/run.ts";
import { need } from "./servers.ts";

const CHECK_DIG = "/usr/lib/nagios/plugins/check_dig";
/** MANY is how many A records many.test has: more than a 512-byte UDP reply holds, so dnsmasq sets TC. */
const MANY = 40;

let dnsmasq: Subprocess | undefined;
let port = 0;
const peers: Subprocess[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "upcat-dns-"));
  const hosts = join(dir, "hosts");
  const many = Array.from({ length: MANY }, (_, i) => `198.51.100.${i + 1} many.test`);
  writeFileSync(hosts, ["192.0.2.10 host.test", "2001:db8::10 host.test", ...many, ""].join("\n"));
  port = await freePort();
  dnsmasq = Bun.spawn(
    [
      need("dnsmasq", "dnsmasq"),
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      `--port=${port}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      `--addn-hosts=${hosts}`,
      // test. is dnsmasq's own: an unknown name there is NXDOMAIN, a known name without the type NOERROR and empty.
      "--local=/test/",
      "--mx-host=mail.test,mx1.test,10",
      '--txt-record=txt.test,hello world,second "q" \\ x',
      "--srv-host=_http._tcp.srv.test,host.test,8080,5,7",
      "--cname=alias.test,host.test",
      "--user=root",
      "--pid-file=",
      "--log-facility=-",
    ],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  await waitForListening("tcp", port, 10_000);
});

afterAll(() => {
  dnsmasq?.kill("SIGTERM");
  for (const p of peers) p.kill("SIGTERM");
});

const dig = (...args: string[]) =>
  runPeer([need("dig", "dnsutils"), "@127.0.0.1", "-p", String(port), "+tries=1", "+time=2", ...args]);

const check = (...args: string[]) => run(fromSource, ["check", "--json", "--timeout", "2s", ...args]);

const url = (name: string, type?: string, at = port) => `dns://127.0.0.1:${at}/${name}${type ? `?type=${type}` : ""}`;

/** startDnsPeer starts dns_peer.py in a mode and returns its port. */
async function startDnsPeer(mode: string): Promise<number> {
  const script = new URL("./dns_peer.py", import.meta.url).pathname;
  const { proc, match } = await startPeer([need("python3", "python3"), script, mode], /ready (\d+)/);
  peers.push(proc);
  return Number(match[1]);
}

describe("dnsmasq, with dig and check_dig as the oracles", () => {
  const cases: [string, string, string[]][] = [
    ["host.test", "A", ["host.test", "A"]],
    ["host.test", "AAAA", ["host.test", "AAAA"]],
    ["mail.test", "MX", ["mail.test", "MX"]],
    ["txt.test", "TXT", ["txt.test", "TXT"]],
    ["_http._tcp.srv.test", "SRV", ["_http._tcp.srv.test", "SRV"]],
    ["alias.test", "CNAME", ["alias.test", "CNAME"]],
    // An A question for an alias: the CNAME and the address, as dig shows the chain.
    ["alias.test", "A", ["alias.test", "A"]],
    ["192.0.2.10", "PTR", ["-x", "192.0.2.10"]],
    ["2001:db8::10", "PTR", ["-x", "2001:db8::10"]],
  ];
  for (const [name, type, digArgs] of cases)
    test(`${type} ${name}: the same answer lines as dig +noall +answer, and check_dig passes too`, async () => {
      const [ours, oracle] = await Promise.all([check(url(name, type)), dig("+noall", "+answer", ...digArgs)]);
      expect(oracle.stdout).not.toBe("");
      const record = jsonRecord(ours.stdout);
      expect(record).toMatchObject({ state: "open", ok: true, error: null });
      expect(record.reply).toBe(oracle.stdout);
      expect(ours.status).toBe(0);
      // check_dig looks a name up by -l and -T (PTR by its arpa name): OK is exit 0.
      const lookup = type === "PTR" ? dnsQuestion(name, { type }).text : name;
      const nagios = await runPeer([CHECK_DIG, "-H", "127.0.0.1", "-p", String(port), "-l", lookup, "-T", type]);
      expect(nagios.status).toBe(0);
    });

  test("--expect and --match read the answer lines", async () => {
    const [right, wrong] = await Promise.all([
      check(url("mail.test", "MX"), "--match", "^mail\\.test\\.\\s+\\d+\\s+IN\\s+MX\\s+10 mx1\\.test\\.$"),
      check(url("host.test"), "--expect", "192.0.2.11"),
    ]);
    expect(jsonRecord(right.stdout)).toMatchObject({ state: "open", ok: true });
    expect(jsonRecord(wrong.stdout)).toMatchObject({ state: "mismatch", ok: false });
  });

  test("NXDOMAIN: state error, 'no such name', never 'unknown host'; dig says NXDOMAIN, check_dig fails", async () => {
    const [ours, oracle, nagios] = await Promise.all([
      check(url("nothing.test")),
      dig("nothing.test", "A"),
      runPeer([CHECK_DIG, "-H", "127.0.0.1", "-p", String(port), "-l", "nothing.test"]),
    ]);
    expect(oracle.stdout).toContain("status: NXDOMAIN");
    expect(nagios.status).not.toBe(0);
    expect(ours.status).toBe(1);
    const record = jsonRecord(ours.stdout);
    expect(record).toMatchObject({ state: "error", ok: false, error: "no such name: nothing.test. (NXDOMAIN)" });
    expect(ours.stdout + ours.stderr).not.toContain("unknown host");
  });

  test(
    "NOERROR without the type: a mismatch naming it, where dig shows an empty answer and check_dig " + "fails",
    async () => {
      const [ours, oracle, nagios] = await Promise.all([
        check(url("host.test", "MX")),
        dig("+noall", "+answer", "+comments", "host.test", "MX"),
        runPeer([CHECK_DIG, "-H", "127.0.0.1", "-p", String(port), "-l", "host.test", "-T", "MX"]),
      ]);
      expect(oracle.stdout).toContain("status: NOERROR");
      expect(oracle.stdout).toContain("ANSWER: 0");
      expect(nagios.status).not.toBe(0);
      expect(ours.status).toBe(1);
      expect(jsonRecord(ours.stdout)).toMatchObject({
        state: "mismatch",
        error: "no MX record for host.test. (NOERROR, empty answer)",
      });
    },
  );

  test("REFUSED (a name outside dnsmasq's own, with nowhere to forward it) is its own reason", async () => {
    const [ours, oracle] = await Promise.all([check(url("example.org")), dig("example.org", "A")]);
    expect(oracle.stdout).toContain("status: REFUSED");
    expect(jsonRecord(ours.stdout)).toMatchObject({ state: "error", error: expect.stringContaining("(REFUSED)") });
  });

  test("a reply too big for 512 bytes comes truncated (TC) over UDP and whole over TCP, as dig gets it", async () => {
    const [ours, oracle, udpOnly] = await Promise.all([
      check(url("many.test")),
      dig("+noall", "+answer", "many.test", "A"),
      dig("+noedns", "+ignore", "+notcp", "many.test", "A"),
    ]);
    // Without EDNS (as upcat asks), dnsmasq's UDP reply is truncated: the fallback is what is tested here.
    expect(udpOnly.stdout).toMatch(/flags:[^;]*\btc\b/);
    const record = jsonRecord(ours.stdout);
    expect(record).toMatchObject({ state: "open", ok: true });
    const sorted = (text: string) => text.trimEnd().split("\n").sort();
    expect(sorted(record.reply)).toEqual(sorted(oracle.stdout));
    expect(sorted(record.reply)).toHaveLength(MANY);
  });

  test("--down passes on NXDOMAIN, and not on a name that resolves", async () => {
    const [gone, there] = await Promise.all([check("--down", url("gone.test")), check("--down", url("host.test"))]);
    expect(gone.status).toBe(0);
    expect(jsonRecord(gone.stdout)).toMatchObject({ ok: true });
    expect(there.status).not.toBe(0);
  });

  test("--wait on NXDOMAIN says 'no such name' until it gives up, never 'unknown host'", async () => {
    const waited = await run(fromSource, ["check", "--wait", "1s", "--timeout", "500ms", url("later.test")], {
      timeoutMs: 10_000,
    });
    expect(waited.status).not.toBe(0);
    const said = waited.stdout + waited.stderr;
    expect(said).toContain("no such name");
    expect(said).not.toContain("unknown host");
  });

  test("no DNS server on the port: closed (ICMP port unreachable), which --down passes", async () => {
    const nobody = await freePort("udp");
    const [plain, down] = await Promise.all([
      check(url("host.test", "A", nobody)),
      check("--down", url("host.test", "A", nobody)),
    ]);
    expect(jsonRecord(plain.stdout)).toMatchObject({ state: "closed", ok: false });
    expect(down.status).toBe(0);
  });

  test("a bad type or name is refused with what is wrong", async () => {
    const [type, name] = await Promise.all([check(url("host.test", "ANY")), check(url("a..b"))]);
    expect(type.status).not.toBe(0);
    // Refused when the URL is read (exit 2, on stderr) or, at the latest, as the try's error.
    const said = (r: typeof type) => r.stderr + (r.stdout ? String(jsonRecord(r.stdout).error) : "");
    expect(said(type)).toContain('unknown record type "ANY" (expected one of A, AAAA, CNAME, MX, TXT');
    expect(said(name)).toContain("empty label");
  });
});

describe("hostile and odd servers (dns_peer.py)", () => {
  test("TC on every UDP reply: the answer comes over TCP", async () => {
    const at = await startDnsPeer("tc");
    const record = jsonRecord((await check(url("x.test", "A", at))).stdout);
    expect(record).toMatchObject({ state: "open", reply: "x.test.\t\t\t60\tIN\tA\t192.0.2.99\n" });
  });

  test(
    "a forged answer from another port, a wrong ID and another question are ignored; the right answer " + "wins",
    async () => {
      const at = await startDnsPeer("hostile");
      const record = jsonRecord((await check(url("x.test", "A", at))).stdout);
      expect(record).toMatchObject({ state: "open", reply: "x.test.\t\t\t60\tIN\tA\t192.0.2.99\n" });
    },
  );

  test("only wrong IDs: a mismatch naming them at the timeout, not an answer", async () => {
    const at = await startDnsPeer("wrongid");
    const ours = await run(fromSource, ["check", "--json", "--timeout", "500ms", url("x.test", "A", at)]);
    const record = jsonRecord(ours.stdout);
    expect(record).toMatchObject({ state: "mismatch", ok: false });
    expect(record.error).toMatch(/1 reply ignored \(ID \d+, not \d+\)/);
  });

  test("a compression loop in the answer: a mismatch saying so, at once", async () => {
    const at = await startDnsPeer("loop");
    const started = performance.now();
    const record = jsonRecord((await check(url("x.test", "A", at))).stdout);
    expect(record).toMatchObject({ state: "mismatch", ok: false });
    expect(record.error).toContain("does not point backwards");
    expect(performance.now() - started).toBeLessThan(1900);
  });

  test("an echo of the query is no DNS server: a mismatch at once", async () => {
    const at = await startDnsPeer("echo");
    const record = jsonRecord((await check(url("x.test", "A", at))).stdout);
    expect(record).toMatchObject({ state: "mismatch", error: expect.stringContaining("echoed the query back") });
  });
});

describe("without a server: the system's servers, asked as dig without @server asks them", () => {
  const ask = (name: string, type: string, servers = [{ address: "127.0.0.1", port }]) =>
    askSystemServers(
      dnsQuestion(name, { type }),
      {
        address: "",
        port: 53,
        host: "",
        timeoutMs: 2000,
        endpoint: { kind: "dns", scheme: "dns", url: "", path: name, params: { type }, tls: false },
      },
      servers,
    );
  const text = (reply: Uint8Array | undefined) => new TextDecoder().decode(reply);

  test("the answer lines are dig's; a refusing first server is passed over", async () => {
    const nobody = await freePort("udp");
    const [ours, oracle] = await Promise.all([
      ask("mail.test", "MX", [
        { address: "127.0.0.1", port: nobody },
        { address: "127.0.0.1", port },
      ]),
      dig("+noall", "+answer", "mail.test", "MX"),
    ]);
    expect(ours).toMatchObject({ state: "open", address: "127.0.0.1" });
    expect(text(ours.reply)).toBe(oracle.stdout);
  });

  test("NXDOMAIN, NOERROR with no answer and REFUSED keep their own reasons", async () => {
    const [nx, nodata, refused, none] = await Promise.all([
      ask("nothing.test", "A"),
      ask("host.test", "MX"),
      ask("example.org", "A"),
      ask("host.test", "A", []),
    ]);
    expect(nx).toMatchObject({ state: "error", cause: "nxdomain", error: "no such name: nothing.test. (NXDOMAIN)" });
    expect(nodata).toMatchObject({ state: "mismatch", cause: "mismatch" });
    expect(refused).toMatchObject({ state: "error", cause: "dns_refused" });
    expect(none).toMatchObject({ state: "error", error: expect.stringContaining("no DNS server") });
  });

  test("systemServers reads the system's resolver configuration", () => {
    for (const s of systemServers()) expect(s.port).toBeGreaterThan(0);
  });
});
