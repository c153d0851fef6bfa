// Real servers for the service checks' tests (issue 27), each on a free loopback port with its files in a temporary
// folder: exim4 (accepting, and refusing at connect), redis loading a dataset, rabbitmq. The plain ones (redis,
// memcached, sshd) come from tests/verdicts/servers.ts.
import type { Subprocess } from "bun";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fromSource, run } from "../../support/run.ts";
import { freePort, runPeer, waitForListening } from "../../support/peers.ts";
import { need } from "../../verdicts/servers.ts";
import { parseServiceUrl } from "../../../src/check/services/endpoint.ts";
import { serviceProbe } from "../../../src/check/services/probe.ts";
import { jsonRecord } from "../json-records.ts";

export interface Running {
  port: number;
  stop(): void;
}

/** tempDir is a fresh folder, removed by the returned function. */
export function tempDir(name: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `upcat-${name}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** spawnServer starts a server and resolves once the kernel shows its port bound (or it exited, failing). */
export async function spawnServer(
  argv: string[],
  port: number,
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Running & { proc: Subprocess }> {
  const proc = Bun.spawn(argv, {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    env: opts.env ? { ...process.env, ...opts.env } : undefined,
  });
  try {
    await Promise.race([
      waitForListening("tcp", port, opts.timeoutMs ?? 10_000),
      proc.exited.then(async (code) => {
        throw new Error(`${argv[0]} exited with ${code} before listening: ${await new Response(proc.stderr).text()}`);
      }),
    ]);
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  }
  return { port, proc, stop: () => proc.kill("SIGTERM") };
}

/**
 * check runs `upcat check URL [options] --json` and returns its exit status and its one record; --json shows no
 * cause, so the cause is the same URL's try made in-process through serviceProbe (password from REDISCLI_AUTH or
 * --password-file as the CLI takes it).
 */
export async function check(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000) {
  const ran = await run(fromSource, ["check", ...args, "--json"], { env, timeoutMs });
  if (ran.stdout.trim() === "") throw new Error(`no --json output (status ${ran.status}): ${ran.stderr}`);
  const record = jsonRecord(ran.stdout);
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args[i + 1];
  };
  const file = option("--password-file");
  const password = file ? (await Bun.file(file).text()).trim() : env.REDISCLI_AUTH;
  const timeout = option("--timeout");
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(timeout ?? "5s");
  if (!m) throw new Error(`check() reads --timeout as Nms or Ns, not ${timeout}`);
  const probeMs = Number(m[1]) * (m[2] === "ms" ? 1 : 1000);
  const outcome = args.includes("--wait")
    ? undefined
    : await serviceProbe(parseServiceUrl(args[0]!), { timeoutMs: probeMs, password });
  return { status: ran.status, record, cause: outcome?.cause, stderr: ran.stderr };
}

/**
 * startExim runs exim4 as an SMTP daemon with a configuration of its own (a folder exim's user can write);
 * `refuse` denies every connection in the connect ACL, with its own words.
 */
export async function startExim(dir: string, refuse?: string): Promise<Running> {
  const exim = need("exim4", "exim4-daemon-light");
  // exim runs as Debian-exim: it must reach the folder (the one above is the test's own, 0700) and write its logs.
  chmodSync(dirname(dir), 0o711);
  chmodSync(dir, 0o777);
  mkdirSync(join(dir, "spool"), { mode: 0o777 });
  chmodSync(join(dir, "spool"), 0o777);
  const port = await freePort();
  const conf = join(dir, "exim.conf");
  writeFileSync(
    conf,
    [
      "primary_hostname = upcat.test",
      `spool_directory = ${dir}/spool`,
      `log_file_path = ${dir}/%slog`,
      `pid_file_path = ${dir}/exim.pid`,
      "local_interfaces = 127.0.0.1",
      "tls_advertise_hosts =",
      "acl_smtp_connect = acl_connect",
      "begin acl",
      "acl_connect:",
      refuse ? `  deny message = ${refuse}` : "  accept",
      "",
    ].join("\n"),
  );
  return spawnServer([exim, "-bdf", "-oX", String(port), "-C", conf], port);
}

/** REDIS_KEYS is how many keys the loading redis reads back; with key-load-delay it loads for seconds. */
const REDIS_KEYS = 100_000;

/**
 * startLoadingRedis writes a dataset of REDIS_KEYS keys (DEBUG POPULATE, SAVE), then starts redis again on it,
 * slowed (key-load-delay) and answering while it loads (loading-process-events-interval-bytes): for seconds every
 * command but a few is -LOADING.
 */
export async function startLoadingRedis(dir: string, password: string): Promise<Running> {
  const server = need("redis-server", "redis-server");
  const cli = need("redis-cli", "redis-server");
  const base = (port: number) => [
    server,
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--logfile",
    "",
  ];
  const first = await freePort();
  const seeding = await spawnServer([...base(first), "--enable-debug-command", "yes"], first);
  try {
    for (const cmd of [["DEBUG", "POPULATE", String(REDIS_KEYS)], ["SAVE"]]) {
      const r = Bun.spawnSync([cli, "-p", String(first), ...cmd]);
      if (r.stdout.toString().trim() !== "OK") throw new Error(`redis-cli ${cmd.join(" ")}: ${r.stdout}${r.stderr}`);
    }
  } finally {
    seeding.stop();
    await seeding.proc.exited;
  }
  const port = await freePort();
  return spawnServer(
    [
      ...base(port),
      "--requirepass",
      password,
      "--key-load-delay",
      "40",
      "--loading-process-events-interval-bytes",
      "1024",
    ],
    port,
  );
}

/** redisCli runs redis-cli (the oracle) and returns what it printed. */
export function redisCli(port: number, args: string[], password?: string): string {
  const r = Bun.spawnSync([need("redis-cli", "redis-server"), "-p", String(port), "--no-auth-warning", ...args], {
    env: { ...process.env, ...(password ? { REDISCLI_AUTH: password } : {}) },
  });
  return `${r.stdout}${r.stderr}`.trim();
}

/** plugin runs a monitoring plugin from /usr/lib/nagios/plugins (the oracle) and returns its status and line. */
export async function plugin(name: string, args: string[]): Promise<{ status: number; output: string }> {
  const r = await runPeer([`/usr/lib/nagios/plugins/${name}`, ...args], undefined, 15_000);
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}`.trim() };
}

/** startHttp runs python3's http.server on loopback: a server that waits for the client's request. */
export async function startHttp(dir: string): Promise<Running> {
  const port = await freePort();
  const argv = [need("python3", "python3"), "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir];
  return spawnServer([...argv, String(port)], port);
}

export { jsonRecord };

/** Rabbit is a started rabbitmq node: its AMQP port, and rabbitmqctl aimed at it (the oracle). */
export interface Rabbit extends Running {
  ctl(args: string[]): Promise<{ status: number | null; output: string }>;
  exited: Promise<number>;
}

/**
 * startRabbit runs rabbitmq-server as a node of its own (a unique name, its own ports, cookie, mnesia and logs in
 * dir), on loopback, with guest allowed from loopback; it takes 10-20 s to start.
 */
export async function startRabbit(dir: string): Promise<Rabbit> {
  const bin = "/usr/lib/rabbitmq/bin";
  need(`${bin}/rabbitmq-server`, "rabbitmq-server");
  const [port, dist, epmdPort] = [await freePort(), await freePort(), await freePort()];
  const node = `upcat-${process.pid}-${port}@localhost`;
  writeFileSync(join(dir, "enabled_plugins"), "[].\n");
  writeFileSync(join(dir, "rabbitmq.conf"), "loopback_users = none\n");
  const env = {
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(dist),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_PID_FILE: join(dir, "rabbit.pid"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
    RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq"),
    // Erlang's port mapper, which the node starts as a daemon: on loopback, on a port of its own, and stopped with
    // the node (by default it listens on every interface and outlives the test).
    ERL_EPMD_ADDRESS: "127.0.0.1",
    ERL_EPMD_PORT: String(epmdPort),
  };
  const r = await spawnServer([`${bin}/rabbitmq-server`], port, { env, timeoutMs: 60_000 });
  const stopEpmd = () =>
    Bun.spawnSync(["epmd", "-port", String(epmdPort), "-kill"], { env: { ...process.env, ...env }, timeout: 5000 });
  void r.proc.exited.then(stopEpmd);
  return {
    port,
    stop: r.stop,
    exited: r.proc.exited,
    ctl: async (args) => {
      const proc = Bun.spawn([`${bin}/rabbitmqctl`, "-n", node, ...args], {
        env: { ...process.env, ...env },
        stdout: "pipe",
        stderr: "pipe",
      });
      const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
      const [out, err, status] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      clearTimeout(timer);
      return { status, output: `${out}${err}` };
    },
  };
}
