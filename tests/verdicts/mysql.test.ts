// mysql:// against a real MariaDB 10.11 with max_connect_errors=3, mysqladmin ping as the oracle: ready, a user and
// a wrong password, ten probes that leave the host unblocked (where bare connects block it), a blocked host graded not
// ready in the server's words, and an HTTP port named as a mismatch.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { jsonRecord } from "../check/json-records.ts";
import { type MariaDb, mariadbCanRun, startMariaDb } from "../support/mysql-server.ts";
import { freePort, waitForListening } from "../support/peers.ts";
import { fromSource, run } from "../support/run.ts";

const why = mariadbCanRun();
let db: MariaDb;
let http: { port: number; proc: Subprocess; dir: string };

beforeAll(async () => {
  // A missing server is a failure, never a skip: .ci/apt-packages installs it.
  if (why) throw new Error(why);
  db = await startMariaDb(["--max-connect-errors=3"]);
  await db.sql("CREATE USER 'tester'@'%' IDENTIFIED BY 'sekret'");
  const dir = mkdtempSync(join(tmpdir(), "upcat-mysql-http-"));
  const port = await freePort();
  const proc = Bun.spawn(["python3", "-m", "http.server", "--bind", "127.0.0.1", String(port)], {
    cwd: dir,
    stdout: "ignore",
    stderr: "ignore",
  });
  http = { port, proc, dir };
  await waitForListening("tcp", port, 10_000);
}, 90_000);

afterAll(async () => {
  http?.proc.kill("SIGTERM");
  if (http) rmSync(http.dir, { recursive: true, force: true });
  await db?.remove();
}, 30_000);

/** check runs `upcat check --json` on one target inside the server's namespace. */
async function check(target: string) {
  const r = await run(db.upcat, ["check", "--json", "--timeout", "2s", target], { timeoutMs: 20_000 });
  expect(r.stderr).toBe("");
  return { status: r.status, record: jsonRecord(r.stdout) };
}

/** bareConnects opens and closes `n` TCP connections after the greeting, as a port check does: aborted connects. */
async function bareConnects(n: number): Promise<void> {
  const script = `import socket
for _ in range(${n}):
    s = socket.create_connection(("${db.address}", ${db.port}))
    s.recv(200)
    s.close()`;
  const proc = Bun.spawn(db.inside(["python3", "-c", script]), { stdout: "ignore", stderr: "ignore" });
  expect(await proc.exited).toBe(0);
}

describe("mysql:// against MariaDB 10.11", () => {
  test("ready: the greeting passes with the server's version, as mysqladmin ping says; a user logs in and " +
    "runs SELECT 1", async () => {
    const url = `mysql://${db.address}:${db.port}`;
    const [oracle, bare, user, maria] = [
      await db.ping(),
      await check(url),
      await check(`mysql://tester:sekret@${db.address}:${db.port}`),
      await check(`mariadb://tester:sekret@${db.address}:${db.port}`),
    ];
    expect(oracle).toBe(0);
    expect(bare).toMatchObject({ status: 0, record: { state: "open", ok: true } });
    expect(bare.record.reply).toMatch(/^10\.11\.\d+-MariaDB/);
    expect(user).toMatchObject({ status: 0, record: { state: "open", reply: "SELECT 1: 1\n" } });
    expect(maria).toMatchObject({ status: 0, record: { state: "open" } });
  }, 30_000);

  test("a wrong password fails with the server's words; the password is never shown", async () => {
    const r = await check(`mysql://tester:wrong-one@${db.address}:${db.port}`);
    expect(r.status).toBe(1);
    expect(r.record.state).toBe("error");
    expect(r.record.error).toContain("Access denied for user 'tester'");
    expect(JSON.stringify(r.record)).not.toContain("wrong-one");
  }, 20_000);

  test("ten probes with max_connect_errors=3 leave the host unblocked; four bare connects block it, and " +
    "then upcat says not ready with the server's words, as mysqladmin ping does", async () => {
    await db.sql("FLUSH HOSTS");
    for (let i = 0; i < 10; i++) {
      const r = await check(`mysql://${db.address}:${db.port}`);
      expect(r.record.state).toBe("open");
    }
    expect(await db.ping()).toBe(0);
    expect((await check(`mysql://${db.address}:${db.port}`)).record.state).toBe("open");
    // The control: the same server does block a host whose connections end after the greeting.
    await bareConnects(4);
    const [oracle, blocked] = [await db.ping(), await check(`mysql://${db.address}:${db.port}`)];
    expect(oracle).not.toBe(0);
    expect(blocked.status).toBe(1);
    expect(blocked.record).toMatchObject({ state: "not_ready", ok: false });
    expect(blocked.record.error).toContain("is blocked because of many connection errors");
    expect(blocked.record.reply).toStartWith("ERROR 1129: ");
    await db.sql("FLUSH HOSTS");
    expect(await db.ping()).toBe(0);
  }, 60_000);

  test("mysql:// at an HTTP server is a mismatch naming it, never open; mysqladmin ping does not call it " +
    "alive", async () => {
    const [r, oracle] = await Promise.all([
      run(fromSource, ["check", "--json", "--timeout", "2s", `mysql://127.0.0.1:${http.port}`], { timeoutMs: 20_000 }),
      Bun.spawn(
        ["mysqladmin", "--no-defaults", "-h", "127.0.0.1", "-P", String(http.port), "--connect-timeout=3", "ping"],
        { stdout: "ignore", stderr: "ignore" },
      ).exited,
    ]);
    expect(r.status).toBe(1);
    const record = jsonRecord(r.stdout);
    expect(record).toMatchObject({ state: "mismatch", ok: false });
    expect(record.error).toContain("an HTTP server");
    expect(oracle).not.toBe(0);
  }, 30_000);
});
