// Refused, unreachable and filtered, in two network namespaces with REJECT rules and unreachable routes: upcat's state
// beside check_tcp's verdict (issue 20, item 2).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { compiled } from "../support/binary.ts";
import { runPeer } from "../support/peers.ts";
import { fromSource, type Command } from "../support/run.ts";
import { inBatches, judge, listedDifferences, plugin, verdicts, type Cell } from "./oracle.ts";
import { need } from "./servers.ts";
import { jsonRecord, jsonRecords } from "../check/json-records.ts";

// Names unique to this run: other test runs on the machine make their own.
const tag = `${process.pid % 100000}`;
const CLIENT = `upcatvc${tag}`;
const SERVER = `upcatvs${tag}`;
const SERVER_IP = "10.201.0.2";

let listener: Subprocess | undefined;

function sh(argv: string[], stdin?: string): void {
  const r = Bun.spawnSync(argv, { stdin: stdin === undefined ? "ignore" : new Blob([stdin]), stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr.toString().trim()}`);
}

beforeAll(async () => {
  const ip = need("ip", "iproute2");
  const nft = need("nft", "nftables");
  for (const ns of [CLIENT, SERVER]) {
    sh([ip, "netns", "add", ns]);
    sh([ip, "-n", ns, "link", "set", "lo", "up"]);
  }
  sh([ip, "link", "add", `uv${tag}a`, "netns", CLIENT, "type", "veth", "peer", "name", `uv${tag}b`, "netns", SERVER]);
  sh([ip, "-n", CLIENT, "addr", "add", "10.201.0.1/24", "dev", `uv${tag}a`]);
  sh([ip, "-n", SERVER, "addr", "add", `${SERVER_IP}/24`, "dev", `uv${tag}b`]);
  sh([ip, "-n", CLIENT, "link", "set", `uv${tag}a`, "up"]);
  sh([ip, "-n", SERVER, "link", "set", `uv${tag}b`, "up"]);
  // The client's own table: a route that says unreachable, and no route at all for anything off the link.
  sh([ip, "-n", CLIENT, "route", "add", "unreachable", "10.202.0.0/24"]);
  // The server's filter answers some ports with ICMP errors instead of a reset, and drops one.
  const rules = `table inet upcat {
  chain input {
    type filter hook input priority 0;
    tcp dport 81 reject with icmp type host-unreachable
    tcp dport 82 reject with icmp type net-unreachable
    tcp dport 83 reject with icmp type admin-prohibited
    tcp dport 84 drop
    udp dport 91 reject with icmp type host-unreachable
    udp dport 92 reject with icmp type net-unreachable
  }
}
`;
  sh([ip, "netns", "exec", SERVER, nft, "-f", "-"], rules);
  // Linux rate-limits the ICMP errors it sends (a burst of 6, then 1 a second a host): each cell dials
  // a port three times (check_tcp, upcat --nagios, upcat --json) and upcat once more to read the errno.
  sh([ip, "netns", "exec", SERVER, need("sysctl", "procps"), "-qw", "net.ipv4.icmp_ratelimit=0"]);
  const python = need("python3", "python3");
  const server = Bun.spawn(
    [
      ip,
      "netns",
      "exec",
      SERVER,
      python,
      "-c",
      `import socket
s = socket.socket(); s.bind(("${SERVER_IP}", 80)); s.listen(64); print("up", flush=True)
while True:
    c, _ = s.accept(); c.close()
`,
    ],
    { stdin: "ignore", stdout: "pipe", stderr: "ignore" },
  );
  listener = server;
  const reader = server.stdout.getReader();
  await reader.read();
  reader.releaseLock();
}, 30_000);

afterAll(() => {
  listener?.kill();
  for (const ns of [CLIENT, SERVER]) Bun.spawnSync(["ip", "netns", "del", ns]);
});

interface NetCell {
  name: string;
  host: string;
  port: number;
  state: string;
  /** check_tcp's words for the same failure, or its OK line. */
  oracleSays: RegExp;
}

const CELLS: NetCell[] = [
  { name: "open port", host: SERVER_IP, port: 80, state: "open", oracleSays: /^TCP OK/ },
  { name: "closed port (TCP reset)", host: SERVER_IP, port: 85, state: "closed", oracleSays: /Connection refused/ },
  {
    name: "REJECT icmp host-unreachable",
    host: SERVER_IP,
    port: 81,
    state: "unreachable",
    oracleSays: /No route to host/,
  },
  {
    name: "REJECT icmp net-unreachable",
    host: SERVER_IP,
    port: 82,
    state: "unreachable",
    oracleSays: /Network is unreachable/,
  },
  {
    name: "REJECT icmp admin-prohibited",
    host: SERVER_IP,
    port: 83,
    state: "unreachable",
    oracleSays: /No route to host/,
  },
  { name: "DROP", host: SERVER_IP, port: 84, state: "timeout", oracleSays: /timeout/i },
  { name: "an unreachable route", host: "10.202.0.5", port: 80, state: "unreachable", oracleSays: /No route to host/ },
  { name: "no route at all", host: "10.203.0.5", port: 80, state: "unreachable", oracleSays: /Network is unreachable/ },
];

const inClient = (cmd: Command, args: string[]) =>
  runPeer(["ip", "netns", "exec", CLIENT, ...cmd.argv, "check", ...args], undefined, 20_000);

test("each cell: upcat's state names the cause, --nagios gives check_tcp's status, and check_tcp's words match the " +
  "state", async () => {
  const listed = listedDifferences();
  const results = await inBatches(
    CELLS.map((c) => async () => {
      // check_tcp's blocking connect() hears an ICMP error only at the first SYN retransmit (1s; nc and
      // upcat, non-blocking, hear it at once): its timeout must be longer than that.
      const cell: Cell = { name: c.name, upcat: ["--timeout", "1s"], checkTcp: ["-t", "3"] };
      const v = await verdicts(cell, `${c.host}:${c.port}`, c.host, c.port, ["ip", "netns", "exec", CLIENT]);
      const json = await inClient(fromSource, ["--json", "--timeout", "1s", `${c.host}:${c.port}`]);
      return { c, v, problem: judge(cell, v, listed), record: jsonRecord(json.stdout) };
    }),
    8,
  );
  expect(results.map((r) => r.problem).filter(Boolean)).toEqual([]);
  for (const { c, v, record } of results) {
    expect({ cell: c.name, state: record.state }).toEqual({ cell: c.name, state: c.state });
    expect({ cell: c.name, oracle: v.oracleLine }).toEqual({
      cell: c.name,
      oracle: expect.stringMatching(c.oracleSays),
    });
    if (c.state === "unreachable") expect(record.error).toMatch(/^(host|network) unreachable$/);
  }
}, 60_000);

test("UDP: ICMP port, host and network unreachable each name their cause; check_udp fails them all", async () => {
  const cells = [
    { port: 90, state: "closed", error: "connection refused" },
    { port: 91, state: "unreachable", error: "host unreachable" },
    { port: 92, state: "unreachable", error: "network unreachable" },
  ];
  const results = await Promise.all(
    cells.map(async (c) => {
      const [ours, oracle] = await Promise.all([
        inClient(fromSource, ["--json", "--timeout", "1s", "--send", "x", `udp://${SERVER_IP}:${c.port}`]),
        runPeer([
          "ip",
          "netns",
          "exec",
          CLIENT,
          plugin("check_udp"),
          "-H",
          SERVER_IP,
          "-p",
          String(c.port),
          "-s",
          "x",
          "-e",
          "X",
          "-t",
          "1",
        ]),
      ]);
      return { c, record: jsonRecord(ours.stdout), oracle: oracle.status };
    }),
  );
  for (const { c, record, oracle } of results) {
    expect({ port: c.port, state: record.state, error: record.error }).toEqual({
      port: c.port,
      state: c.state,
      error: c.error,
    });
    expect({ port: c.port, oracle }).toEqual({ port: c.port, oracle: 2 });
  }
});

test("the compiled binary finds the same causes (bun:ffi's libc works inside it)", async () => {
  const cmd = await compiled();
  const targets = CELLS.filter((c) => c.state !== "timeout").map((c) => `${c.host}:${c.port}`);
  const r = await inClient(cmd, ["--json", "--timeout", "1s", ...targets]);
  const states = jsonRecords(r.stdout).map((line) => line.state);
  expect(states).toEqual(CELLS.filter((c) => c.state !== "timeout").map((c) => c.state));
}, 120_000);
