// A PostgreSQL cluster of a test's own (Debian's postgresql 15): initdb into a temporary folder, started on a free
// loopback port with its unix socket in that folder, run as the postgres user when the tests run as root.
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./peers.ts";

const BIN = "/usr/lib/postgresql/15/bin";

/** PostgresCluster is one test cluster: where it listens, and what a test does to it. */
export interface PostgresCluster {
  readonly port: number;
  readonly dir: string;
  /** psql runs SQL as the superuser through the unix socket. */
  psql(sql: string): Promise<string>;
  /** ctl runs pg_ctl with the cluster's folder and options. */
  ctl(...args: string[]): Promise<{ status: number; output: string }>;
  /** start starts the server (pg_ctl -w unless `wait` is false), with extra `-c name=value` settings. */
  start(opts?: { wait?: boolean; settings?: string[] }): Promise<void>;
  /** stop stops the server (fast, or immediate: a crash). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** remove stops the server and removes its folder. */
  remove(): Promise<void>;
}

/** postgresCanRun says why a cluster cannot be made here, or undefined when it can. */
export function postgresCanRun(): string | undefined {
  if (!Bun.which("initdb", { PATH: BIN })) return `${BIN}/initdb is missing: apt-get install -y postgresql`;
  return undefined;
}

const asRoot = process.getuid?.() === 0;
/** asPostgres prefixes a command so that it runs as the postgres user (postgres refuses to run as root). */
const asPostgres = (argv: string[]) => (asRoot ? ["runuser", "-u", "postgres", "--", ...argv] : argv);

async function exec(argv: string[], timeoutMs = 30_000): Promise<{ status: number; output: string }> {
  const proc = Bun.spawn(asPostgres(argv), { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [out, err, status] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { status, output: out + err };
}

/** startPostgres makes a cluster (scram-sha-256 over TCP, trust on its socket) and starts it. */
export async function startPostgres(): Promise<PostgresCluster> {
  const dir = mkdtempSync(join(tmpdir(), "upcat-pg-"));
  if (asRoot) {
    const id = Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim();
    chownSync(dir, Number(id), -1);
  }
  chmodSync(dir, 0o700);
  const data = join(dir, "data");
  const init = await exec([
    `${BIN}/initdb`,
    "-D",
    data,
    "-U",
    "postgres",
    "--auth-host=scram-sha-256",
    "--auth-local=trust",
    "-N",
  ]);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.output}`);
  const port = await freePort();
  const base = ["-c", `port=${port}`, "-c", `unix_socket_directories=${dir}`, "-c", "listen_addresses=127.0.0.1"];
  const cluster: PostgresCluster = {
    port,
    dir,
    async psql(sql) {
      const r = await exec([`${BIN}/psql`, "-h", dir, "-p", String(port), "-U", "postgres", "-XAtqc", sql]);
      if (r.status !== 0) throw new Error(`psql failed: ${r.output}`);
      return r.output.trim();
    },
    ctl: (...args) => exec([`${BIN}/pg_ctl`, "-D", data, ...args]),
    async start(opts = {}) {
      const settings = [...base, ...(opts.settings ?? []).flatMap((s) => ["-c", s])];
      const r = await cluster.ctl(
        "-l",
        join(dir, "log"),
        "-o",
        settings.join(" "),
        opts.wait === false ? "-W" : "-w",
        "start",
      );
      if (r.status !== 0) throw new Error(`pg_ctl start failed: ${r.output}`);
    },
    async stop(mode = "fast") {
      await cluster.ctl("-m", mode, "-w", "stop");
    },
    async remove() {
      await cluster.stop("immediate");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}

/** writeStandbySignal puts the cluster's next start into standby mode (it stays in recovery until promoted). */
export function writeStandbySignal(cluster: PostgresCluster): void {
  writeFileSync(join(cluster.dir, "data", "standby.signal"), "");
}

/** pgIsReady is the oracle: pg_isready's exit status (0 accepting, 1 rejecting, 2 no response). */
export async function pgIsReady(port: number, timeoutS = 3): Promise<number> {
  const proc = Bun.spawn([`${BIN}/pg_isready`, "-h", "127.0.0.1", "-p", String(port), "-t", String(timeoutS)], {
    stdout: "ignore",
    stderr: "ignore",
  });
  return proc.exited;
}
