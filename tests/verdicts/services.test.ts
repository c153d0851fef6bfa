// Real services (redis, sshd, memcached, nginx HTTP and HTTPS) × the checks ops run on them, check_tcp as the oracle;
// and a runbook of them in one upcat call.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { fromSource, run } from "../support/run.ts";
import { runPeer } from "../support/peers.ts";
import { runbookLines, startFleet, type Fleet } from "./fleet.ts";
import { inBatches, judge, listedDifferences, plugin, verdicts, type Cell } from "./oracle.ts";
import { DNS_ADDRESS, DNS_NAME, need } from "./servers.ts";
import { jsonRecord, jsonRecords } from "../check/json-records.ts";

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet();
}, 30_000);
afterAll(() => fleet?.stop());

const CRLF = "\r\n";
/** send is one probe as each tool takes it: upcat reads \r\n escapes, check_tcp sends -s as typed. */
const send = (text: string) => ({ upcat: ["--send", text.replaceAll(CRLF, "\\r\\n")], checkTcp: ["-s", text] });
const both = (probe: { upcat: string[]; checkTcp: string[] }, upcat: string[], checkTcp: string[]) => ({
  upcat: [...probe.upcat, ...upcat],
  checkTcp: [...probe.checkTcp, ...checkTcp],
});

/** cells lists, for each service, the checks a runbook makes, as upcat and as check_tcp say them. */
function cells(f: Fleet): { port: number; cell: Cell }[] {
  const at = (port: number, cell: Cell) => ({ port, cell });
  const ping = send(`PING${CRLF}`);
  const info = send(`INFO replication${CRLF}`);
  const get = send(`GET / HTTP/1.0${CRLF}${CRLF}`);
  return [
    at(f.redis, { name: "redis PING → +PONG", ...both(ping, ["--expect", "+PONG"], ["-e", "+PONG"]) }),
    // check_tcp has no regular expressions: the oracle looks for the text the pattern pins to a line start.
    at(f.redis, {
      name: "redis INFO replication, ^role:master",
      ...both(info, ["--match", "^role:master"], ["-e", "role:master"]),
    }),
    at(f.redis, { name: "redis PING → +PANG (wrong)", ...both(ping, ["--expect", "+PANG"], ["-e", "+PANG"]) }),
    at(f.redisAuth, {
      name: "redis with requirepass: PING → -NOAUTH, not +PONG",
      ...both(ping, ["--expect", "+PONG"], ["-e", "+PONG"]),
    }),
    at(f.redisAuth, { name: "redis with requirepass: connect", upcat: [], checkTcp: [] }),
    at(f.sshd, { name: "sshd banner SSH-2.0", upcat: ["--expect", "SSH-2.0"], checkTcp: ["-e", "SSH-2.0"] }),
    at(f.sshd, {
      name: "sshd ^SSH-2\\.0-OpenSSH",
      upcat: ["--match", "^SSH-2\\.0-OpenSSH"],
      checkTcp: ["-e", "SSH-2.0-OpenSSH"],
    }),
    // The banner ends in \r\n: $ anchors before it, as a person reading the line expects.
    at(f.sshd, {
      name: "sshd deb12u\\d+$ (line end before CRLF)",
      upcat: ["--match", "deb12u\\d+$"],
      checkTcp: ["-e", "deb12u"],
    }),
    at(f.sshd, { name: "sshd --tls (not a TLS port)", upcat: ["--tls", "--insecure"], checkTcp: ["-S"] }),
    at(f.memcached, {
      name: "memcached version",
      ...both(send(`version${CRLF}`), ["--expect", "VERSION 1."], ["-e", "VERSION 1."]),
    }),
    at(f.memcached, {
      name: "memcached stats, ^STAT pid \\d+$",
      ...both(send(`stats${CRLF}`), ["--match", "^STAT pid \\d+$"], ["-e", "STAT pid"]),
    }),
    at(f.http, { name: "nginx GET / → 200", ...both(get, ["--expect", "HTTP/1.1 200"], ["-e", "HTTP/1.1 200"]) }),
    at(f.http, {
      name: "nginx GET / → 404 (wrong)",
      ...both(get, ["--expect", "HTTP/1.1 404"], ["-e", "HTTP/1.1 404"]),
    }),
    at(f.http, { name: "nginx --tls on the HTTP port", upcat: ["--tls", "--insecure"], checkTcp: ["-S"] }),
    at(f.https, { name: "nginx https --tls --ca", upcat: ["--tls", "--ca", f.cert.cert], checkTcp: ["-S"] }),
    at(f.https, {
      name: "nginx https --tls (self-signed, not trusted)",
      upcat: ["--tls"],
      checkTcp: ["-S"],
      differs: "chain",
    }),
    at(f.https, {
      name: "nginx https --cert-days 14 (60 days left)",
      upcat: ["--tls", "--ca", f.cert.cert, "--cert-days", "14"],
      checkTcp: ["-S", "-D", "14"],
    }),
    at(f.https, {
      name: "nginx https --cert-days 90,30 (60 days left)",
      upcat: ["--tls", "--ca", f.cert.cert, "--cert-days", "90,30"],
      checkTcp: ["-S", "-D", "90,30"],
    }),
    at(f.https, {
      name: "nginx https --cert-days 90,60 (60 days left)",
      upcat: ["--tls", "--ca", f.cert.cert, "--cert-days", "90,60"],
      checkTcp: ["-S", "-D", "90,60"],
    }),
    at(f.https, {
      name: "nginx https GET / → 200",
      ...both(get, ["--tls", "--ca", f.cert.cert, "--expect", "HTTP/1.1 200"], ["-S", "-e", "HTTP/1.1 200"]),
    }),
    at(f.https, {
      name: "nginx plain HTTP to the HTTPS port → 400",
      ...both(get, ["--expect", "HTTP/1.1 200"], ["-e", "HTTP/1.1 200"]),
    }),
  ];
}

test("each service × check: upcat --nagios gives check_tcp's status, or a difference the README lists", async () => {
  const listed = listedDifferences();
  const all = cells(fleet);
  const results = await inBatches(
    all.map(({ port, cell }) => async () => {
      const v = await verdicts(
        { ...cell, upcat: [...cell.upcat, "--timeout", "1s"], checkTcp: [...cell.checkTcp, "-t", "4"] },
        `127.0.0.1:${port}`,
        "127.0.0.1",
        port,
      );
      return { v, problem: judge(cell, v, listed) };
    }),
    8,
  );
  expect(results.map((r) => r.problem).filter(Boolean)).toEqual([]);
  // Not vacuous: passes, warnings and failures all happened.
  expect(new Set(results.map((r) => r.v.upcat))).toEqual(new Set([0, 1, 2]));
}, 90_000);

/** dnsQuery is a DNS query for `name`, type A, as --send escapes (RFC 1035: header, then the labels). */
function dnsQuery(name: string): string {
  const labels = name
    .split(".")
    .map((l) => `\\x${l.length.toString(16).padStart(2, "0")}${l}`)
    .join("");
  return `\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00${labels}\\x00\\x00\\x01\\x00\\x01`;
}

/** addressBytes is an IPv4 address as --expect escapes: the A record's data. */
const addressBytes = (ip: string) =>
  ip
    .split(".")
    .map((o) => `\\x${Number(o).toString(16).padStart(2, "0")}`)
    .join("");

test(
  "dnsmasq over UDP and TCP: an A query answered with its address passes where dig gets it; garbage gets no " +
    "reply, as check_udp finds",
  async () => {
    const dig = (...args: string[]) =>
      runPeer([
        need("dig", "dnsutils"),
        `@127.0.0.1`,
        "-p",
        String(fleet.dns),
        "+short",
        "+tries=1",
        "+time=1",
        ...args,
      ]);
    const check = (...args: string[]) => run(fromSource, ["check", "--json", "--timeout", "1s", ...args]);
    const target = `udp://127.0.0.1:${fleet.dns}`;
    const [digA, right, wrong, garbage, oracleGarbage, tcp, oracleTcp] = await Promise.all([
      dig(DNS_NAME),
      check(target, "--send", dnsQuery(DNS_NAME), "--expect", addressBytes(DNS_ADDRESS)),
      check(target, "--send", dnsQuery(DNS_NAME), "--expect", addressBytes("192.0.2.8")),
      check(target, "--send", "x"),
      runPeer([plugin("check_udp"), "-H", "127.0.0.1", "-p", String(fleet.dns), "-s", "x", "-e", "X", "-t", "1"]),
      check(`127.0.0.1:${fleet.dns}`),
      runPeer([plugin("check_tcp"), "-H", "127.0.0.1", "-p", String(fleet.dns)]),
    ]);
    expect(digA.stdout.trim()).toBe(DNS_ADDRESS);
    expect(jsonRecord(right.stdout)).toMatchObject({ state: "open", ok: true });
    // dig's answer is not 192.0.2.8: upcat's --expect of those bytes is a mismatch.
    expect(jsonRecord(wrong.stdout)).toMatchObject({ state: "mismatch", ok: false });
    expect(oracleGarbage.status).toBe(2);
    expect(jsonRecord(garbage.stdout)).toMatchObject({ state: "no_reply", ok: false });
    expect(garbage.status).toBe(1);
    expect([oracleTcp.status, tcp.status]).toEqual([0, 0]);
  },
);

test(
  "a runbook of seven checks, each with its own options, in one call: all pass, each with its own " + "reply",
  async () => {
    const file = join(fleet.dir, "runbook.txt");
    await Bun.write(file, `# the service's runbook\n${runbookLines(fleet).join("\n")}\n`);
    const r = await run(fromSource, ["check", "--json", "--file", file]);
    expect(r.stderr).toBe("");
    const records = jsonRecords(r.stdout);
    expect(records.map((o) => o.state)).toEqual(new Array(7).fill("open"));
    expect(r.status).toBe(0);
    expect(records[0].reply).toBe("+PONG\r\n");
    expect(records[1].reply).toContain("role:master");
    expect(records[2].reply).toStartWith("SSH-2.0-OpenSSH");
    expect(records[3].reply).toStartWith("VERSION 1.");
    expect(records[5].tls).toMatchObject({ subject: "CN=localhost", authorized: true });
    expect(records[6].reply).toStartWith("HTTP/1.1 200");
  },
);

test(
  "the same runbook with one line wrong: only that target fails, and --nagios names it with the reply it " + "got",
  async () => {
    const lines = runbookLines(fleet);
    lines[0] = `127.0.0.1:${fleet.redisAuth} --send 'PING\\r\\n' --expect +PONG`;
    const file = join(fleet.dir, "runbook-bad.txt");
    await Bun.write(file, `${lines.join("\n")}\n`);
    const r = await run(fromSource, ["check", "--nagios", "--timeout", "1s", "--file", file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toStartWith(`TCP WARNING - 6 of 7 OK, slowest `);
    expect(r.stdout).toContain(
      `Unexpected response from tcp://127.0.0.1:${fleet.redisAuth}: -NOAUTH Authentication required.`,
    );
    // Every target has its perfdata, the failed one too.
    // Each as the plugin guidelines write it: label=value..., a label with a blank quoted ('tcp://host:port #2').
    const perfdata = r.stdout.split("|")[1]!.trim();
    expect(perfdata.match(/('[^']*'|[^ =']+)=\S+/g)).toHaveLength(7);
  },
);

test("a bad line in the runbook is a usage error naming the file and line, before any traffic", async () => {
  const file = join(fleet.dir, "runbook-typo.txt");
  await Bun.write(file, `${runbookLines(fleet).slice(0, 2).join("\n")}\n\n127.0.0.1:${fleet.redis} --cert-days 14\n`);
  const r = await run(fromSource, ["check", "--file", file]);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr).toBe(`upcat: ${file}:4: --cert-days is for TLS checks: add --tls, or check an https:// URL\n`);
  const nagios = await run(fromSource, ["check", "--nagios", "--file", file]);
  expect(nagios.status).toBe(3);
  expect(nagios.stdout).toBe(
    `UPCAT UNKNOWN - ${file}:4: --cert-days is for TLS checks: add --tls, or check an https:// URL\n`,
  );
});
