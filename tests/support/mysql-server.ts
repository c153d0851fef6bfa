// A MariaDB server of a test's own (Debian's mariadb-server 10.11), in a network namespace of its own on a
// non-loopback address: MariaDB never counts connect errors from 127.0.0.1, so max_connect_errors only bites there.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chownSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "./run.ts";
import { fromSource } from "./run.ts";
import { terminate } from "./wait.ts";

/** MariaDb is one test server: where it listens, and how to run things beside it. */
export interface MariaDb {
  readonly address: string;
  readonly port: number;
  readonly socket: string;
  /** inside runs argv in the server's network namespace. */
  inside(argv: string[]): string[];
  /** upcat is upcat from source, run inside the namespace. */
  readonly upcat: Command;
  /** sql runs SQL as root through the unix socket. */
  sql(text: string): Promise<string>;
  /** ping is the oracle: `mysqladmin ping`'s exit status from inside the namespace (0: alive). */
  ping(): Promise<number>;
  remove(): Promise<void>;
}

/** mariadbCanRun says why the server cannot be made here, or undefined when it can. */
export function mariadbCanRun(): string | undefined {
  if (process.getuid?.() !== 0) return "a network namespace needs root";
  for (const p of ["/usr/sbin/mariadbd", "/usr/bin/mariadb-install-db", "/usr/bin/mysqladmin"])
    if (!Bun.which(p)) return `${p} is missing: apt-get install -y mariadb-server mariadb-client`;
  if (!Bun.which("ip")) return "ip is missing: apt-get install -y iproute2";
  return undefined;
}

async function exec(argv: string[], timeoutMs = 30_000): Promise<{ status: number; output: string }> {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [out, err, status] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { status, output: out + err };
}

async function must(argv: string[]): Promise<string> {
  const r = await exec(argv);
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed: ${r.output}`);
  return r.output;
}

/**
 * startMariaDb starts mariadbd on 10.213.X.1:3306 in a namespace of its own, with `flags` (--max-connect-errors=3),
 * the address named in the namespace's /etc/hosts (MariaDB counts errors only for hosts whose name it resolved).
 */
export async function startMariaDb(flags: string[]): Promise<MariaDb> {
  const ns = `upcat-mysql-${process.pid}`;
  const address = `10.213.${process.pid % 250}.1`;
  const port = 3306;
  const dir = mkdtempSync(join(tmpdir(), "upcat-mysql-"));
  const mysqlUid = Number(Bun.spawnSync(["id", "-u", "mysql"]).stdout.toString().trim());
  chownSync(dir, mysqlUid, -1);
  chmodSync(dir, 0o755);
  const etc = `/etc/netns/${ns}`;
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, "hosts"), `127.0.0.1 localhost\n${address} upcat-probing-host\n`);
  await exec(["ip", "netns", "del", ns]);
  await must(["ip", "netns", "add", ns]);
  await must(["ip", "-n", ns, "link", "set", "lo", "up"]);
  await must(["ip", "-n", ns, "addr", "add", `${address}/32`, "dev", "lo"]);
  const inside = (argv: string[]) => ["ip", "netns", "exec", ns, ...argv];
  const data = join(dir, "data");
  const socket = join(dir, "sock");
  await must([
    "mariadb-install-db",
    "--no-defaults",
    "--user=mysql",
    `--datadir=${data}`,
    "--auth-root-authentication-method=socket",
    "--skip-test-db",
    // InnoDB's temporary files go to TMPDIR otherwise, which the test runner makes root's own: mysql cannot write it.
    `--tmpdir=${dir}`,
  ]);
  const server = Bun.spawn(
    inside([
      "/usr/sbin/mariadbd",
      "--no-defaults",
      "--user=mysql",
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--pid-file=${join(dir, "pid")}`,
      `--port=${port}`,
      `--bind-address=${address}`,
      `--log-error=${join(dir, "error.log")}`,
      `--tmpdir=${dir}`,
      "--skip-log-bin",
      ...flags,
    ]),
    { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
  );
  const db: MariaDb = {
    address,
    port,
    socket,
    inside,
    upcat: { argv: inside(fromSource.argv), env: fromSource.env },
    sql: (text) => must(["mariadb", "--no-defaults", "-S", socket, "-u", "root", "-N", "-e", text]),
    ping: async () =>
      (await exec(inside(["mysqladmin", "--no-defaults", "-h", address, "-P", String(port), "ping"]))).status,
    async remove() {
      await terminate(server, 10_000);
      await exec(["ip", "netns", "del", ns]);
      rmSync(etc, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 30_000;
  while ((await exec(["mariadb-admin", "--no-defaults", "-S", socket, "-u", "root", "ping"])).status !== 0) {
    if (Date.now() > deadline || server.exitCode !== null) {
      await db.remove();
      throw new Error("mariadbd did not start");
    }
    await Bun.sleep(200);
  }
  return db;
}
