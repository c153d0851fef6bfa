// The benchmark beside a C yardstick (issue 6): builds upcat, measures it and ../shared/bench/cref.c in the same run,
// alternating.
// bun run bench [--rounds N] [--warmup N] [--seconds S] [--only a,b] [--json] [--no-readme] [--shared DIR]
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compile, releaseConfig } from "./compile.ts";
import { listenPortBlock } from "./bench/port-block.ts";
import { hostTarget } from "./targets.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BUN = process.execPath;

interface Args {
  rounds: number;
  /** warmup rounds run before a scenario's rounds and are not counted: a JIT's first seconds are not its rate. */
  warmup: number;
  seconds: number;
  only?: string[];
  json: boolean;
  readme: boolean;
  shared: string;
}
function parseArgs(argv: string[]): Args {
  const shared = join(ROOT, "../shared/bench");
  const a: Args = { rounds: 5, warmup: 1, seconds: 2, json: false, readme: true, shared };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === "--rounds") a.rounds = Math.max(1, Number(v()));
    else if (k === "--warmup") a.warmup = Math.max(0, Number(v()));
    else if (k === "--seconds") a.seconds = Math.max(0.2, Number(v()));
    else if (k === "--only") a.only = v().split(",");
    else if (k === "--json") a.json = true;
    else if (k === "--no-readme") a.readme = false;
    else if (k === "--shared") a.shared = v();
    else
      throw new Error(`unknown option ${k} (try --rounds, --warmup, --seconds, --only, --json, --no-readme, --shared)`);
  }
  return a;
}
const args = parseArgs(process.argv.slice(2));
const log = (s: string) => process.stderr.write(`${s}\n`);
const want = (name: string) => !args.only || args.only.some((o) => name.startsWith(o));

async function sh(
  argv: string[],
  timeoutMs = 120_000,
  env: Record<string, string> = {},
): Promise<{ status: number; out: string; err: string; cpuMs: number }> {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", cwd: ROOT, env: { ...process.env, ...env } });
  const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [status, out, err] = await Promise.all([
    p.exited,
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
  ]);
  clearTimeout(t);
  const cpuMs = Number(p.resourceUsage()?.cpuTime.total ?? 0n) / 1000;
  return { status, out, err, cpuMs };
}
async function must(argv: string[], timeoutMs?: number): Promise<string> {
  const r = await sh(argv, timeoutMs);
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${r.out}${r.err}`);
  return r.out;
}

// ---- build ----
// Everything built goes here and goes with the run, however it ends: nothing is left in the checkout.
const work = mkdtempSync(join(tmpdir(), "upcat-bench-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const upcat = join(work, "upcat");
log("building upcat, hello, cref and loadgen ...");
// The release configuration (minified, bytecode), so start-up and speed are those of the binary users download.
await compile(releaseConfig({ entry: join(ROOT, "src/main.ts"), target: hostTarget(), outfile: upcat }));
// The same flags on a program that only prints: how much of upcat's start-up is Bun's own.
const hello = join(work, "hello");
await compile(releaseConfig({ entry: join(ROOT, "scripts/bench/hello.ts"), target: hostTarget(), outfile: hello }));
const cref = join(work, "cref");
const loadgen = join(work, "loadgen");
// Both binaries read whole, so their pages are in the page cache alike: the resident share of a binary, most of an
// idle Bun program's RSS, depends on how much of the file the cache holds (the same hello idles at 20 to 27 MB).
await Promise.all([upcat, hello].map((file) => Bun.file(file).bytes()));
await must(["gcc", "-O2", "-o", cref, join(args.shared, "cref.c")]);
await must(["gcc", "-O2", "-o", loadgen, join(args.shared, "loadgen.c")]);

// ---- servers ----
interface Server {
  name: string;
  port: number;
  proc: Bun.Subprocess;
}
// Below Linux's ephemeral range (32768+), so no client's local port can be holding the one we pick.
let nextPort = 12001 + Math.floor(Math.random() * 20000);
/** waitPort is true once the port answers, false if the server exits first (a port someone else has). */
async function waitPort(port: number, proc: Bun.Subprocess): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) return false;
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
      return true;
    } catch {
      await Bun.sleep(25);
    }
  }
  throw new Error(`nothing listening on ${port}`);
}
/** waitUdpPort is true once a datagram to the port is answered (through a relay, by cref), false if it exits first. */
async function waitUdpPort(port: number, proc: Bun.Subprocess): Promise<boolean> {
  let answered = false;
  // Refusals (ICMP port unreachable) before the server is up come back as errors: expected, and not worth a word.
  const sock = await Bun.udpSocket({ socket: { data: () => void (answered = true), error: () => {} } });
  try {
    for (let i = 0; i < 100 && !answered; i++) {
      if (proc.exitCode !== null) return false;
      sock.send("ready?", port, "127.0.0.1");
      await Bun.sleep(50);
    }
    return answered;
  } finally {
    sock.close();
  }
}
/** isRelay: relays forward to cref, so that the relay, not the server behind it, is what is measured. */
const isRelay = (name: string) => name.startsWith("relay-");
/** workersOf reads the process or thread count a server's name carries: upcat-w2, relay-upcat-w8, cref-t8. */
const workersOf = (name: string) => /-[wt](\d+)$/.exec(name)?.[1];
/** serverArgv is the command line of each server a scenario names. */
function serverArgv(name: string, port: number, behind: number | undefined): string[] {
  const count = workersOf(name);
  const workers = count ? ["--workers", count] : [];
  if (name === "relay-upcat-udp")
    // UDP both sides; one client address, so its reply bucket is lifted as serve's is for a load.
    return [upcat, "relay", `udp://127.0.0.1:${port}`, `udp://127.0.0.1:${behind}`, "--quiet", "--udp-reply-rate", "0"];
  if (name === "relay-socat-udp")
    return ["socat", `UDP-LISTEN:${port},fork,reuseaddr,bind=127.0.0.1`, `UDP:127.0.0.1:${behind}`];
  if (name.startsWith("relay-upcat"))
    return [upcat, "relay", `127.0.0.1:${port}`, `127.0.0.1:${behind}`, "--quiet", "--max-connections", "19000"].concat(
      workers,
    );
  if (name === "relay-socat")
    return ["socat", `TCP-LISTEN:${port},fork,reuseaddr,bind=127.0.0.1,backlog=4096`, `TCP:127.0.0.1:${behind}`];
  if (name === "upcat-bounded")
    // Every UDP bound at work on every datagram (each bucket asked, at its largest rate), none of them binding: what
    // the bounds cost a server whose load comes from sources they do not limit.
    return [upcat, "serve", "--port", String(port), "--host", "127.0.0.1", "--quiet", "--udp-reply-rate", "100000000"];
  if (name.startsWith("upcat"))
    // A load test from one address: lift the per-address and per-prefix bounds, as the README says to.
    return [upcat, "serve", ...workers, "--port", String(port), "--host", "127.0.0.1", "--quiet"].concat([
      "--max-connections",
      "19000",
      "--max-per-address",
      "0",
      "--udp-reply-rate",
      "0",
    ]);
  // The textbook's server as a user starts it: every bound at its default (issue 28's send-udp-pipe row).
  if (name === "serve-default") return [upcat, "serve", "--port", String(port), "--host", "127.0.0.1", "--quiet"];
  if (name.startsWith("cref")) return [cref, String(port), ...(count ? [count] : [])];
  if (name === "bare") return [BUN, join(ROOT, "scripts/bench/bare-server.ts"), String(port)];
  return ["socat", `TCP-LISTEN:${port},fork,reuseaddr,bind=127.0.0.1,backlog=4096`, "EXEC:tr a-z A-Z"];
}
/** serverEnv is the environment a server's name asks for: upcat-bun is upcat with Bun's UDP socket alone. */
const serverEnv = (name: string): Record<string, string> =>
  name.startsWith("upcat-bun") ? { UPCAT_UDP_ENGINE: "bun" } : {};
/** isUdpOnly: a server with no TCP port to wait for (a UDP relay). */
const isUdpOnly = (name: string) => name.endsWith("-udp");
const isSocat = (name: string) => name.includes("socat");

async function start(name: string): Promise<Server> {
  for (let attempt = 0; ; attempt++) {
    const port = nextPort++;
    const behind = servers.cref?.port;
    if (isRelay(name) && behind === undefined) throw new Error(`${name} needs cref started first`);
    const argv = serverArgv(name, port, behind);
    // socat in a process group of its own: its UDP relay forks a process a session, which outlives a parent killed
    // alone (33 of them were found still running after one bench run).
    const proc = Bun.spawn(["prlimit", "--nofile=20000:20000", ...argv], {
      detached: isSocat(name),
      env: { ...process.env, ...serverEnv(name) },
      stdout: "ignore",
      stderr: attempt < 4 ? "ignore" : "inherit",
      cwd: work,
    });
    if (await (isUdpOnly(name) ? waitUdpPort(port, proc) : waitPort(port, proc))) return { name, port, proc };
    if (attempt >= 4) throw new Error(`${name} would not start (ports ${port - 4}..${port} taken?)`);
  }
}
/**
 * cpuMs is the CPU time (user and system) a process has used, with what its live descendants have used and what it
 * has reaped of its children: a relay's workers, and socat's process a connection.
 */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After "pid (comm) ", the fields from the state on; utime, stime, cutime and cstime are the 14th to 17th.
    const f = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
    let ms = ((f[11]! + f[12]! + f[13]! + f[14]!) * 1000) / CLOCK_TICKS;
    for (const task of readdirSync(`/proc/${pid}/task`))
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean))
        ms += cpuMs(Number(child));
    return ms;
  } catch {
    return 0;
  }
}
/** idleRssMb starts a program, reads its RSS as long after its start as the servers' idle figure, and stops it. */
async function idleRssMb(argv: string[]): Promise<number> {
  const proc = Bun.spawn(argv, { stdout: "ignore", stderr: "ignore" });
  await Bun.sleep(300);
  const mb = rssKb(proc.pid) / 1024;
  proc.kill("SIGKILL");
  await proc.exited;
  return mb;
}

/** CLOCK_TICKS is the unit of /proc's times (getconf CLK_TCK). */
const CLOCK_TICKS = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;
function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

// ---- scenarios ----
/**
 * Scenario is one row. `keys` names a server's column where it is not the server's own name, and
 * `ref` is the column the ratio divides by (cref unless told): the relay rows compare upcat's relay
 * with socat's, both in front of cref.
 */
interface Scenario {
  name: string;
  label: string;
  unit: string;
  servers: string[];
  keys?: Record<string, string>;
  ref?: string;
  /** loads, where given, are the columns in place of servers: load generators, each run against servers[0]. */
  loads?: string[];
  run(s: Server, column: string): Promise<{ value: number; errors: number }>;
}
const S = String;
type Measured = { value: number; errors: number; cpuMs?: number };
async function lg(mode: string, ...rest: (string | number)[]): Promise<Measured> {
  return lgProcs(1, mode, ...rest);
}
/** lgProcs runs `procs` load generators at once, each with its own source ports (how SO_REUSEPORT spreads load). */
async function lgProcs(procs: number, mode: string, ...rest: (string | number)[]): Promise<Measured> {
  const r = await sh([loadgen, mode, ...rest.map(S)], 120_000, { LOADGEN_PROCS: S(procs) });
  const m = /rate=([\d.]+) errors=(\d+)/.exec(r.out);
  if (!m) return { value: 0, errors: -1 };
  return { value: Number(m[1]), errors: Number(m[2]), cpuMs: r.cpuMs };
}
/** upcatBench runs `upcat bench` as a load generator, with the arguments given, and reads its --json line. */
async function upcatBench(target: string, ...rest: (string | number)[]): Promise<{ value: number; errors: number }> {
  const duration = `${Math.round(args.seconds * 1000)}ms`;
  const r = await sh([upcat, "bench", target, "--duration", duration, "--json", ...rest.map(S)], 120_000);
  try {
    const j = JSON.parse(r.out) as { rate: number; errors: number };
    return { value: j.rate, errors: j.errors };
  } catch {
    log(`upcat bench ${target} failed (${r.status}): ${r.err.trim()}`);
    return { value: 0, errors: -1 };
  }
}
const secs = args.seconds;
const streamMb = Math.max(16, Math.round((64 * secs) / 2));
/** benchBesideLoadgen is the row for `upcat bench` with `procs` load processes beside loadgen with as many, 32 each. */
function benchBesideLoadgen(mode: "tcpr" | "udp", procs: number): Scenario {
  const what = mode === "udp" ? "UDP replies/s" : "TCP round trips/s";
  const each = mode === "udp" ? "32 in flight" : "32 conns";
  const scheme = mode === "udp" ? "udp" : "tcp";
  return {
    name: `bench-${mode}-x${procs}`,
    label: `upcat bench beside loadgen: ${what} against cref, ${procs} proc${procs > 1 ? "s" : ""} × ${each}`,
    unit: "/s",
    servers: ["cref"],
    loads: ["upcat-bench", "loadgen"],
    keys: { "upcat-bench": "upcat" },
    ref: "loadgen",
    run: (s, load) =>
      load === "loadgen"
        ? lgProcs(procs, mode, s.port, secs, 32, 64)
        : upcatBench(`${scheme}://127.0.0.1:${s.port}`, "--workers", procs, "--concurrency", 32 * procs, "--size", 64),
  };
}

/** MANY is the worker count of the many-core rows: the cores, up to 8; below 4 cores there are no such rows. */
const MANY = Math.min(8, navigator.hardwareConcurrency);
/** manyWorkerRows is `serve --workers MANY` beside `cref PORT MANY` and cref on one thread, MANY loadgens × 32. */
function manyWorkerRows(mode: "udp" | "tcpr"): Scenario[] {
  if (MANY < 4) return [];
  const what = mode === "udp" ? "UDP replies/s, 32 in flight" : "TCP round trips/s, 32 conns";
  return [
    {
      name: `${mode === "udp" ? "udp-w32" : "tcpr-c32"}-x${MANY}`,
      label: `${what} a load proc, ${MANY} workers (${MANY} load procs)`,
      unit: "/s",
      servers: [`upcat-w${MANY}`, `cref-t${MANY}`, "cref"],
      keys: { [`upcat-w${MANY}`]: "upcat", [`cref-t${MANY}`]: "cref", cref: "cref 1 thread" },
      run: (s) => lgProcs(MANY, mode, s.port, secs, 32, 64),
    },
  ];
}

/**
 * relayUdpRow puts the UDP relays in front of cref with `inFlight` datagrams in flight. The load's one client address
 * is one session, a connected socket of its own towards cref; socat forks one process for it. Both relays read and
 * send through their sockets a datagram a call.
 */
function relayUdpRow(inFlight: number): Scenario {
  return {
    name: `relay-udp-w${inFlight}`,
    label: `relay UDP replies/s, ${inFlight} in flight (to cref)`,
    unit: "/s",
    servers: ["relay-upcat-udp", "relay-socat-udp"],
    keys: { "relay-upcat-udp": "upcat", "relay-socat-udp": "socat relay" },
    ref: "socat relay",
    run: (s) => lg("udp", s.port, secs, inFlight, 64),
  };
}

const scenarios: Scenario[] = [
  {
    name: "udp-w1",
    label: "UDP replies/s, 1 in flight",
    unit: "/s",
    servers: ["upcat", "upcat-bounded", "upcat-bun", "cref", "bare"],
    run: (s) => lg("udp", s.port, secs, 1, 64),
  },
  {
    name: "udp-w32",
    label: "UDP replies/s, 32 in flight",
    unit: "/s",
    servers: ["upcat", "upcat-bounded", "upcat-bun", "cref", "bare"],
    run: (s) => lg("udp", s.port, secs, 32, 64),
  },
  {
    name: "tcpc-c32",
    label: "TCP connections/s, 32 clients",
    unit: "/s",
    servers: ["upcat", "cref", "socat"],
    run: (s) => lg("tcpc", s.port, secs, 32, 64),
  },
  {
    name: "tcpr-c32",
    label: "TCP round trips/s, 32 conns",
    unit: "/s",
    servers: ["upcat", "cref", "bare"],
    run: (s) => lg("tcpr", s.port, secs, 32, 64),
  },
  {
    name: "tcpr-c1000",
    label: "TCP round trips/s, 1000 conns",
    unit: "/s",
    servers: ["upcat", "cref", "bare"],
    run: (s) => lg("tcpr", s.port, secs, 1000, 64),
  },
  {
    name: "tcps-ascii",
    label: "TCP stream MB/s, ASCII",
    unit: "MB/s",
    servers: ["upcat", "cref", "bare", "socat"],
    run: (s) => lg("tcps", s.port, streamMb, 65520),
  },
  // Two cores: serve --workers 2 beside one worker and a two-thread cref, two load processes each.
  {
    name: "udp-w32-x2",
    label: "UDP replies/s, 32 in flight, 2 workers (2 load procs)",
    unit: "/s",
    servers: ["upcat-w2", "upcat-bun-w2", "upcat", "cref-t2"],
    keys: { "upcat-w2": "upcat", "upcat-bun-w2": "upcat-bun", upcat: "1 worker", "cref-t2": "cref" },
    run: (s) => lgProcs(2, "udp", s.port, secs, 32, 64),
  },
  {
    name: "tcpr-c32-x2",
    label: "TCP round trips/s, 32 conns, 2 workers (2 load procs)",
    unit: "/s",
    servers: ["upcat-w2", "upcat", "cref-t2"],
    keys: { "upcat-w2": "upcat", upcat: "1 worker", "cref-t2": "cref" },
    run: (s) => lgProcs(2, "tcpr", s.port, secs, 32, 64),
  },
  // Issue 16's many-core goal, where there are the cores: N workers (N load processes) beside cref with N threads
  // (goal 0.75×) and single-threaded cref (goal 4×). On 2 cores these rows are left out: see MANY.
  ...manyWorkerRows("udp"),
  ...manyWorkerRows("tcpr"),
  // upcat bench trusted (issue 16): its rate against one cref beside loadgen's, with the same connections
  // or datagrams in flight, one load process each and then two (2 × 32), in alternating rounds.
  benchBesideLoadgen("tcpr", 1),
  benchBesideLoadgen("udp", 1),
  benchBesideLoadgen("tcpr", 2),
  benchBesideLoadgen("udp", 2),
  {
    name: "relay-tcps",
    label: "relay TCP stream MB/s (to cref)",
    unit: "MB/s",
    servers: ["relay-upcat", "relay-socat"],
    keys: { "relay-upcat": "upcat", "relay-socat": "socat relay" },
    ref: "socat relay",
    run: (s) => lg("tcps", s.port, streamMb, 65520),
  },
  relayUdpRow(32),
  relayUdpRow(1),
  {
    name: "relay-tcpc",
    label: "relay TCP connections/s, 32 clients (to cref)",
    unit: "/s",
    servers: ["relay-upcat", "relay-socat"],
    keys: { "relay-upcat": "upcat", "relay-socat": "socat relay" },
    ref: "socat relay",
    run: (s) => lg("tcpc", s.port, secs, 32, 64),
  },
  {
    // socat forks a process a connection, so it has both cores: two upcat relay processes (SO_REUSEPORT) have too.
    name: "relay-tcpc-w2",
    label: "relay TCP connections/s, 32 clients, upcat --workers 2 (to cref)",
    unit: "/s",
    servers: ["relay-upcat-w2", "relay-socat"],
    keys: { "relay-upcat-w2": "upcat", "relay-socat": "socat relay" },
    ref: "socat relay",
    run: (s) => lg("tcpc", s.port, secs, 32, 64),
  },
  {
    // What a connection costs the relay, whatever the cores: its CPU time (its workers', socat's processes') over
    // the connections it carried. On 2 cores the rate rows share the CPU with loadgen and cref; this one does not.
    // "cref+loadgen direct" is what the two ends spend on a connection between them, which a relay is both of.
    name: "relay-cpu",
    label: "relay CPU per connection, µs (32 clients, to cref)",
    unit: "µs",
    servers: ["relay-upcat", "relay-socat", "cref"],
    keys: { "relay-upcat": "upcat", "relay-socat": "socat relay", cref: "cref+loadgen direct" },
    ref: "socat relay",
    run: async (s, column) => {
      const before = cpuMs(s.proc.pid);
      const r = await lg("tcpc", s.port, secs, 32, 64);
      // socat reaps a connection's process a moment after it ends.
      await Bun.sleep(200);
      const spent = cpuMs(s.proc.pid) - before + (column === "cref" ? (r.cpuMs ?? NaN) : 0);
      return { value: (spent * 1000) / Math.max(1, r.value * secs), errors: r.errors };
    },
  },
  {
    name: "tcps-utf8",
    label: "TCP stream MB/s, UTF-8 (Korean, German)",
    unit: "MB/s",
    servers: ["upcat", "cref"],
    async run(s) {
      const r = await sh([BUN, join(ROOT, "scripts/bench/utf8-stream.ts"), S(s.port), S(streamMb)], 120_000);
      const m = /rate=([\d.]+) errors=(\d+)/.exec(r.out);
      // cref uppercases ASCII only: its UTF-8 reply differs, so only its speed counts.
      return m ? { value: Number(m[1]), errors: s.name === "cref" ? 0 : Number(m[2]) } : { value: 0, errors: -1 };
    },
  },
];

interface Row {
  name: string;
  label: string;
  unit: string;
  results: Record<string, { median: number; samples: number[]; errors: number }>;
  ratio?: number;
}
const rows: Row[] = [];
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

const active = scenarios.filter((s) => want(s.name));
// The relays go last: they forward to cref, which must be up before them.
const needed = [
  ...active.flatMap((s) => s.servers),
  ...(want("rss") ? ["upcat", "cref"] : []),
  ...(active.some((s) => s.servers.some(isRelay)) ? ["cref"] : []),
];
const serverNames = [...new Set(needed)].sort((a, b) => Number(isRelay(a)) - Number(isRelay(b)));
const servers: Record<string, Server> = {};
try {
  for (const n of serverNames) servers[n] = await start(n);
  // Idle means freshly started, before any load: what a server costs just by running.
  await Bun.sleep(300);
  const idle: Record<string, number> = {};
  for (const n of ["upcat", "cref"]) if (servers[n]) idle[n] = rssKb(servers[n]!.proc.pid) / 1024;
  if (want("rss")) idle.hello = await idleRssMb([hello, "--idle"]);
  for (const sc of active) {
    const samples: Record<string, number[]> = {};
    const errors: Record<string, number> = {};
    for (let r = -args.warmup; r < args.rounds; r++) {
      // Alternate which server goes first, so drift in the machine's load falls on both.
      const columns = sc.loads ?? sc.servers;
      const order = r % 2 ? [...columns].reverse() : columns;
      for (const n of order) {
        // socat forks a process a connection: fewer rounds, it is only a reference point.
        if (n === "socat" && r !== 0) continue;
        const res = await sc.run(servers[sc.loads ? sc.servers[0]! : n]!, n);
        // A warm-up round (r < 0) is run by every server alike and not counted.
        if (r < 0) continue;
        (samples[n] ??= []).push(res.value);
        errors[n] = (errors[n] ?? 0) + Math.max(0, res.errors) + (res.errors < 0 ? 1 : 0);
      }
    }
    const results: Row["results"] = {};
    for (const n of sc.loads ?? sc.servers)
      results[sc.keys?.[n] ?? n] = {
        median: median(samples[n] ?? []),
        samples: samples[n] ?? [],
        errors: errors[n] ?? 0,
      };
    const row: Row = {
      name: sc.name,
      label: sc.label,
      unit: sc.unit,
      results,
      ratio: results.upcat!.median / results[sc.ref ?? "cref"]!.median,
    };
    rows.push(row);
    log(
      `${sc.name}: ${Object.entries(results)
        .map(([n, r]) => `${n} ${fmt(r.median)} (${r.samples.map(fmt).join(" ")}, errors ${r.errors})`)
        .join("; ")}; ratio ${row.ratio!.toFixed(2)}`,
    );
  }

  // ---- memory ----
  if (want("rss")) {
    rows.push({
      name: "rss-idle",
      label: "RSS idle (fresh start), MB",
      unit: "MB",
      results: Object.fromEntries(Object.entries(idle).map(([k, v]) => [k, { median: v, samples: [v], errors: 0 }])),
      ratio: idle.upcat! / idle.cref!,
    });
    const held: Record<string, { median: number; samples: number[]; errors: number }> = {};
    for (const n of ["upcat", "cref"]) {
      const r = await holdConnections(servers[n]!, 10_000);
      held[n] = { median: r.rssMb, samples: [r.rssMb], errors: 10_000 - r.open };
    }
    rows.push({
      name: "rss-10k",
      label: "RSS with 10 000 idle TCP conns (after the load), MB",
      unit: "MB",
      results: held,
      ratio: held.upcat!.median / held.cref!.median,
    });
    log(
      `rss: idle upcat ${fmt(idle.upcat!)} MB cref ${fmt(idle.cref!)} MB; 10k conns upcat ` +
        `${fmt(held.upcat!.median)} MB cref ${fmt(held.cref!.median)} MB`,
    );
  }
} finally {
  // SIGTERM for serve and relay --workers: the parent stops its workers; SIGKILL would leave them running.
  for (const s of Object.values(servers))
    if (isSocat(s.name)) process.kill(-s.proc.pid, "SIGKILL");
    else s.proc.kill(workersOf(s.name) && s.name.includes("upcat") ? "SIGTERM" : "SIGKILL");
  await Promise.all(Object.values(servers).map((s) => Promise.race([s.proc.exited, Bun.sleep(10_000)])));
}

// ---- start-up ----
// Issue 16's start-up goals, each a row: --version and a one-port check beside a hello world built with the
// same flags (and nc), then two short runs: 1000 loopback ports (each a handshake through Bun's sockets) against
// `nc -z HOST LOW-HIGH`, and 200000 piped lines through one upcat server against `nc -N`.
const STARTUP_ROWS = ["startup-version", "startup-check", "startup-ports", "startup-send-pipe", "send-udp-pipe"];
if (STARTUP_ROWS.some(want)) {
  /**
   * Run is one timed command: its argv, and for a pipe the file its stdin reads and the bytes it must print;
   * `server`: the server it talks to, whose CPU time over the run is kept as well, as the row's `NAME CPU`.
   */
  type Run = {
    argv: readonly string[];
    stdin?: string;
    bytes?: number;
    env?: Record<string, string>;
    server?: { name: string; pid: number };
  };
  /** timeOnce is a run's wall time, the server's CPU time, and whether it printed what it must (a failure: no time). */
  const timeOnce = async (r: Run): Promise<{ ms: number; ok: boolean; serverCpuMs?: number }> => {
    const cpuBefore = r.server ? cpuMs(r.server.pid) : 0;
    const t = performance.now();
    const p = Bun.spawn([...r.argv], {
      stdin: r.stdin ? Bun.file(r.stdin) : "ignore",
      stdout: "pipe",
      stderr: "ignore",
      cwd: ROOT,
      env: { ...process.env, ...r.env },
    });
    const killer = setTimeout(() => p.kill("SIGKILL"), 60_000);
    const [out] = await Promise.all([new Response(p.stdout).arrayBuffer(), p.exited]);
    clearTimeout(killer);
    const ms = performance.now() - t;
    const serverCpuMs = r.server ? cpuMs(r.server.pid) - cpuBefore : undefined;
    return { ms, ok: r.bytes === undefined || out.byteLength === r.bytes, serverCpuMs };
  };
  /** timeRow times each contender in alternating rounds and adds the row; its ratio is upcat over `ref`. */
  const timeRow = async (name: string, label: string, runs: Record<string, Run>, rounds: number, ref = "nc") => {
    const order = Object.keys(runs);
    const times: Record<string, number[]> = Object.fromEntries(order.map((k) => [k, []]));
    const errors: Record<string, number> = Object.fromEntries(order.map((k) => [k, 0]));
    const serverCpu: Record<string, number[]> = {};
    for (let i = 0; i < rounds; i++)
      for (const who of i % 2 ? [...order].reverse() : order) {
        const { ms, ok, serverCpuMs } = await timeOnce(runs[who]!);
        times[who]!.push(ms);
        if (!ok) errors[who]!++;
        const server = runs[who]!.server;
        if (server && serverCpuMs !== undefined) (serverCpu[`${server.name} CPU`] ??= []).push(serverCpuMs);
      }
    const results = Object.fromEntries(
      order.map((who) => [who, { median: median(times[who]!), samples: times[who]!, errors: errors[who]! }]),
    );
    // A server's own CPU time over a contender's runs: what the run costs it, whatever the client does.
    for (const [key, samples] of Object.entries(serverCpu))
      results[key] = { median: median(samples), samples, errors: 0 };
    rows.push({ name, label, unit: "ms", results, ratio: results.upcat!.median / results[ref]!.median });
    log(`${name}: ${order.map((who) => `${who} ${results[who]!.median.toFixed(1)} ms`).join(", ")}`);
  };

  const c = await start("cref");
  const u = await start("upcat");
  const d = want("send-udp-pipe") ? await start("serve-default") : undefined;
  // 1000 ports of which the odd 500 listen, in this process.
  const block = listenPortBlock(1000);
  const lines = join(work, "seq-200000");
  const text = Array.from({ length: 200_000 }, (_, i) => `${i + 1}\n`).join("");
  writeFileSync(lines, text);
  try {
    const n = Math.max(10, args.rounds * 4);
    const ncCheck = ["nc", "-z", "-w", "2", "127.0.0.1", String(c.port)];
    if (want("startup-version"))
      await timeRow(
        "startup-version",
        "start-up: --version, ms",
        { upcat: { argv: [upcat, "--version"] }, nc: { argv: ["nc", "-h"] }, hello: { argv: [hello] } },
        n,
      );
    if (want("startup-check"))
      await timeRow(
        "startup-check",
        "start-up: check of one open port, ms",
        { upcat: { argv: [upcat, "check", `127.0.0.1:${c.port}`] }, nc: { argv: ncCheck }, hello: { argv: [hello] } },
        n,
      );
    if (want("startup-ports") && block) {
      const range = `${block.low}-${block.high}`;
      await timeRow(
        "startup-ports",
        "check of 1000 loopback ports (500 open), ms",
        {
          upcat: { argv: [upcat, "check", "--quiet", `127.0.0.1:${range}`] },
          nc: { argv: ["nc", "-z", "127.0.0.1", range] },
        },
        n,
      );
      // With a line a port, as a runbook reads a scan: upcat's own lines (a pipe) beside nc -zv's (which looks
      // each open port's service name up in /etc/services).
      await timeRow(
        "startup-ports-lines",
        "check of 1000 loopback ports (500 open), a line each (nc -zv), ms",
        {
          upcat: { argv: [upcat, "check", `127.0.0.1:${range}`] },
          nc: { argv: ["nc", "-zv", "127.0.0.1", range] },
        },
        n,
      );
    } else if (want("startup-ports")) log("startup-ports: skipped, no block of 1000 ports with 500 free to bind");
    if (want("startup-send-pipe"))
      await timeRow(
        "startup-send-pipe",
        "send: 200000 piped lines through upcat serve, ms",
        {
          // Digits and newlines come back as they went: every byte, or the run counts as an error.
          upcat: { argv: [upcat, "send", `127.0.0.1:${u.port}`], stdin: lines, bytes: text.length },
          nc: { argv: ["nc", "-N", "127.0.0.1", String(u.port)], stdin: lines, bytes: text.length },
        },
        n,
      );
    if (d) {
      // Issue 28: the textbook on one machine, `seq 1 50000 | upcat send --udp` to a default serve (no bound lifted),
      // beside the same lines over TCP; the goal is within 3× of TCP. Every reply must come back. The server's CPU time
      // over the UDP runs is the row's `serve CPU`: what the lines cost the server alone, whatever the client does.
      const seq = join(work, "seq-50000");
      const few = Array.from({ length: 50_000 }, (_, i) => `${i + 1}\n`).join("");
      writeFileSync(seq, few);
      /** udpPipe is the 50 000 lines piped through `upcat send --udp` to port, each reply owed back. */
      const udpPipe = (port: number, more: Partial<Run> = {}): Run => ({
        argv: [upcat, "send", "--udp", `127.0.0.1:${port}`],
        stdin: seq,
        bytes: few.length,
        ...more,
      });
      await timeRow(
        "send-udp-pipe",
        "send: 50000 piped lines over UDP to a default upcat serve (beside TCP), ms",
        {
          upcat: udpPipe(d.port, { server: { name: "serve", pid: d.proc.pid } }),
          // The same window to the C reference server: what a socket a request in flight costs even cref.
          "to cref": udpPipe(c.port, { server: { name: "cref", pid: c.proc.pid } }),
          // send's window on Bun's sockets alone, as off 64-bit Linux.
          "upcat-bun": udpPipe(d.port, { env: { UPCAT_UDP_ENGINE: "bun" } }),
          tcp: { argv: [upcat, "send", `127.0.0.1:${d.port}`], stdin: seq, bytes: few.length },
        },
        Math.max(3, args.rounds),
        "tcp",
      );
    }
  } finally {
    block?.stop();
    c.proc.kill("SIGKILL");
    u.proc.kill("SIGKILL");
    d?.proc.kill("SIGKILL");
  }
}
rmSync(work, { recursive: true, force: true });

/** holdConnections opens n idle TCP connections to a server, reads its RSS, and closes them. */
async function holdConnections(s: Server, n: number): Promise<{ open: number; rssMb: number }> {
  const socks: Bun.Socket<undefined>[] = [];
  const deadline = Date.now() + 60_000;
  for (let i = 0; i < n && Date.now() < deadline; i += 200) {
    const batch = await Promise.allSettled(
      Array.from({ length: Math.min(200, n - i) }, () =>
        Bun.connect({ hostname: "127.0.0.1", port: s.port, socket: { data() {}, error() {} } }),
      ),
    );
    for (const b of batch) if (b.status === "fulfilled") socks.push(b.value);
  }
  await Bun.sleep(1000);
  const rss = rssKb(s.proc.pid) / 1024;
  for (const x of socks) x.terminate();
  await Bun.sleep(500);
  return { open: socks.length, rssMb: rss };
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return "–";
  if (x >= 10_000) return `${(x / 1000).toFixed(1)}k`;
  if (x >= 100) return x.toFixed(0);
  return x.toFixed(1);
}

// ---- report ----
const tableText = [
  "| scenario | upcat | cref | upcat/cref | other |",
  "| --- | --- | --- | --- | --- |",
  ...rows.map((r) => {
    const refName = r.results.cref ? "cref" : (["nc", "loadgen", "tcp"].find((k) => r.results[k]) ?? "socat relay");
    const ref = r.results[refName];
    const other = Object.entries(r.results)
      .filter(([k]) => k !== "upcat" && k !== "cref")
      .map(([k, v]) => {
        // The columns upcat is compared with get their ratio beside them.
        const versus = ["bare", "1 worker", "hello", "cref 1 thread"].includes(k);
        let beside = versus ? ` (upcat/${k} ${(r.results.upcat!.median / v.median).toFixed(2)}×)` : "";
        // Bun's UDP socket alone (UPCAT_UDP_ENGINE=bun) and the bounds at work are measured against cref, as upcat is.
        if ((k === "upcat-bun" || k === "upcat-bounded" || k.endsWith(" CPU") || k === "to cref") && ref)
          beside = ` (${(v.median / ref.median).toFixed(2)}× ${refName})`;
        return `${k} ${fmt(v.median)}${beside}`;
      })
      .join(", ");
    const err = Object.entries(r.results)
      .filter(([, v]) => v.errors > 0)
      .map(([k, v]) => ` (${k}: ${v.errors} errors)`)
      .join("");
    const crefText = r.results.cref ? fmt(r.results.cref.median) : "–";
    const ratio =
      r.ratio !== undefined && ref ? `${r.ratio.toFixed(2)}×${r.results.cref ? "" : ` of ${refName}`}` : "–";
    return `| ${r.label} | ${fmt(r.results.upcat!.median)} | ${crefText} | ${ratio} | ${other}${err} |`;
  }),
].join("\n");
if (args.json) for (const r of rows) console.log(JSON.stringify(r));
else console.log(tableText);

/**
 * mergeRows is the README with this run's rows put in place of the table rows of the same label (new
 * ones appended) and nothing else changed: with --only, the rows not measured this time, and the
 * prose that says when and how they were, stay as they were. Undefined when the README has no table yet.
 */
function mergeRows(readme: string, fresh: string): string | undefined {
  const freshRows = fresh.split("\n").slice(2);
  const label = (line: string) => line.split("|")[1]?.trim();
  const start = readme.search(/^\| scenario \| upcat \|/m);
  if (start < 0) return undefined;
  const old = readme.slice(start).split("\n");
  const end = old.findIndex((l) => !l.startsWith("|"));
  const oldRows = old.slice(2, end < 0 ? undefined : end);
  const byLabel = new Map(freshRows.map((l) => [label(l), l]));
  const merged = oldRows.map((l) => {
    const replacement = byLabel.get(label(l));
    byLabel.delete(label(l));
    return replacement ?? l;
  });
  const after = end < 0 ? [] : old.slice(end);
  return readme.slice(0, start) + [...old.slice(0, 2), ...merged, ...byLabel.values(), ...after].join("\n");
}

if (args.readme && rows.length > 0) {
  const readme = join(ROOT, "README.md");
  const text = existsSync(readme) ? readFileSync(readme, "utf8") : "";
  const cores = navigator.hardwareConcurrency;
  const merged = args.only ? mergeRows(text, tableText) : undefined;
  const table = tableText;
  const section = [
    "## Performance",
    "",
    `Measured by \`bun run bench\` on loopback, ${new Date().toISOString().slice(0, 10)}, ${cores} cores shared ` +
      `with the load generator`,
    `(and with whatever else the machine was doing): medians of ${args.rounds} alternating rounds of ${secs}s, after`,
    `${args.warmup} round${args.warmup === 1 ? "" : "s"} of each server not counted (a JIT's first seconds), against`,
    "`cref`, a single-threaded epoll C server (`../shared/bench/cref.c`), driven by `../shared/bench/loadgen.c`;",
    "64-byte messages; socat is `socat TCP-LISTEN:…,fork EXEC:'tr a-z A-Z'`, one round. cref uppercases ASCII only, so",
    "its UTF-8 figure is speed, not correctness. For start-up, the reference column is `nc` (`nc -h`, `nc -z`,",
    "`nc -zv`).",
    "bare is `scripts/bench/bare-server.ts`, the least a Bun server can do (ASCII uppercase, no limits or counters):",
    "upcat/bare is the part of the distance to cref that is upcat's own.",
    "The relay rows put `upcat relay` and socat's relay (`socat TCP-LISTEN:P,fork,reuseaddr TCP:127.0.0.1:Q`) in " +
      "front of",
    "cref, in alternating rounds; their ratio is upcat's relay over socat's (socat forks a process a connection). The",
    "UDP relay rows do the same with `upcat relay udp://… udp://… --udp-reply-rate 0` and `socat UDP-LISTEN:P,fork,",
    "reuseaddr UDP:127.0.0.1:Q`. `upcat-bounded` is the default engine with every UDP bound asked on every datagram at",
    "its largest rate, none of them binding: what the bounds cost a server whose clients they do not limit.",
    "`upcat-bun` is upcat on Bun's UDP sockets alone (`UPCAT_UDP_ENGINE=bun`): the server in the UDP rows, send's",
    "window in the piped UDP row. There `to cref` is the same send to cref, and `serve CPU` and `cref CPU` each",
    "server's CPU time over those runs: each datagram comes from and goes back to a socket of its own (one request in",
    "flight a socket, as the textbook's protocol has no ids to match replies by), and the kernel's work for that",
    "costs even cref more CPU than three times the whole TCP run.",
    "The relay CPU row is the relay's CPU time (user and system; socat's processes and upcat's workers included) over",
    "the connections it carried: what a connection costs it, whatever the cores. cref+loadgen direct is their",
    "CPU a connection between them without a relay: a relay is both ends at once, so about the least it can spend.",
    "The 2-worker rows run `serve --workers 2` beside one worker and `cref PORT 2` (two SO_REUSEPORT threads),",
    "each loaded by two loadgen processes; on 2 cores they show only that a second worker costs nothing.",
    "Where there are 4 cores or more, rows with N workers (N the cores, up to 8) run `serve --workers N` beside",
    "`cref PORT N` and cref on one thread, each loaded by N loadgen processes; issue 16 asks for 0.75× of the first",
    "and 4× the second with 8 workers. On fewer cores those rows are left out.",
    "The upcat bench rows load one cref with `upcat bench --concurrency 32` beside `loadgen … 32 64`, and with",
    "`--workers 2 --concurrency 64` beside `LOADGEN_PROCS=2 loadgen … 32 64`, in alternating rounds: upcat bench's",
    "rate over loadgen's, on the same server. On 2 cores two Bun load processes and cref take turns on the cores.",
    "hello is a one-line program built with the release flags: the start-up any compiled Bun program pays; in the",
    "idle RSS row, the same kept running (issue 30 asks for upcat within 1.3× of it), both binaries read whole first",
    "so that the page cache holds them alike (most of an idle Bun program's RSS is the binary's own pages).",
    "Figures move from run to run; compare within one run.",
    "",
    table,
    "",
    "Reproduce: `bun run bench` (`--rounds 3 --seconds 1` for a quick run, `--only udp,tcpr` for some",
    "scenarios, `--json` for one JSON object per row, `--no-readme` to leave this file alone).",
    "To measure your own server: `upcat bench udp://host:port --duration 5s --concurrency 32`. On Linux the load",
    "goes through libc as loadgen's does (sendmmsg and recvmmsg a batch of datagrams a call, epoll for TCP), so one",
    "process keeps up with cref; elsewhere through Bun's sockets, which call JavaScript once a datagram and top out",
    "near 240k UDP replies a second on these machines. `--workers N` (or `auto`, one a core) splits `--concurrency`",
    "over N load processes, each with its own sockets and source ports, and sums their counts (percentiles come from",
    "every worker's latencies, not an average of theirs). On 2 cores the load processes compete with the server:",
    "there one process is the faster choice.",
    "",
    "On 64-bit Linux the UDP server reads and answers what waits on its socket a batch at a time through libc's",
    "recvmmsg and sendmmsg, as cref does, once Bun's socket (which calls JavaScript once a datagram) has woken it;",
    "the uppercase and echo servers answer each datagram where it was read and send the batch back from there.",
    "Every bound, counter and log line is the same as on Bun's socket alone, and an idle server sleeps in Bun's",
    "event loop; the engine is put on the socket at the first datagram, so a server that has had none has not loaded",
    "libc's calls (about 4 MB of its idle memory). `UPCAT_UDP_ENGINE=bun` keeps to Bun's socket alone, as other",
    "systems and 32-bit builds do. What stays between the engine and cref at 32 in flight is the cost of being",
    "JavaScript at all: with every bound",
    "lifted, a loop that only uppercases in place and sends reached 0.91× cref, and `perf` puts 15% of the server's",
    "time in user space against cref's 3%. The relay keeps to Bun's sockets: its answers come back from the target",
    "on sockets of their own, which only Bun's event loop reads, so an engine that holds the loop to read its",
    "listening socket delays them (measured with one request in flight: 10.4k replies/s through the relay on the",
    "engine, 13.3k on Bun's socket).",
    "",
  ].join("\n");
  const start = text.search(/^## Performance\s*$/m);
  let next: string;
  if (merged !== undefined) next = merged;
  else if (start < 0) next = `${text.replace(/\n*$/, "\n\n")}${section}`;
  else {
    const after = text.slice(start + 1).search(/^## /m);
    next =
      after < 0
        ? `${text.slice(0, start)}${section}`
        : `${text.slice(0, start)}${section}\n${text.slice(start + 1 + after)}`;
  }
  writeFileSync(readme, next);
  log(
    merged !== undefined
      ? `README.md: the ${args.only!.join(",")} rows of ## Performance written`
      : "README.md: ## Performance written",
  );
}
process.exit(0);
