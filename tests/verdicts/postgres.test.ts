// postgres:// against a real PostgreSQL 15 cluster of the test's own, pg_isready as the oracle: ready, no user, a
// wrong password, a server in recovery (crash, then standby until promoted), and wrong services (redis, HTTP).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { jsonRecord } from "../check/json-records.ts";
import { freePort, waitForListening } from "../support/peers.ts";
import {
  pgIsReady,
  type PostgresCluster,
  postgresCanRun,
  startPostgres,
  writeStandbySignal,
} from "../support/postgres-server.ts";
import { fromSource, run } from "../support/run.ts";
import { type Running, startRedis } from "./servers.ts";

const why = postgresCanRun();
const PG_BIN = "/usr/lib/postgresql/15/bin";
let pg: PostgresCluster;
let redis: Running;
let http: { port: number; proc: Subprocess };
let dir: string;

beforeAll(async () => {
  // A missing server is a failure, never a skip: .ci/apt-packages installs it.
  if (why) throw new Error(why);
  dir = mkdtempSync(join(tmpdir(), "upcat-pg-peers-"));
  [pg, redis] = await Promise.all([startPostgres(), startRedis(dir)]);
  await pg.psql("CREATE ROLE tester LOGIN PASSWORD 'sekret'");
  const port = await freePort();
  const proc = Bun.spawn(["python3", "-m", "http.server", "--bind", "127.0.0.1", String(port)], {
    cwd: dir,
    stdout: "ignore",
    stderr: "ignore",
  });
  http = { port, proc };
  await waitForListening("tcp", port, 10_000);
}, 60_000);

afterAll(async () => {
  http?.proc.kill("SIGTERM");
  redis?.stop();
  await pg?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** check runs `upcat check --json` on one target and returns its exit status and JSON record. */
async function check(target: string, ...more: string[]) {
  const r = await run(fromSource, ["check", "--json", "--timeout", "2s", ...more, target], { timeoutMs: 20_000 });
  expect(r.stderr).toBe("");
  return { status: r.status, record: jsonRecord(r.stdout) };
}

/** ORACLE maps pg_isready's exit status to the state upcat must give. */
const ORACLE: Record<number, string> = { 0: "open", 1: "not_ready", 2: "no answer" };
const graded = (state: string) => (state === "open" || state === "not_ready" ? state : "no answer");

describe("postgres:// against PostgreSQL 15", () => {
  test("ready: no user and a user with its password pass, as pg_isready says; the reply says how", async () => {
    const url = `postgres://127.0.0.1:${pg.port}`;
    const [oracle, bare, db, user, tls] = await Promise.all([
      pgIsReady(pg.port),
      check(url),
      check(`${url}/nodb`),
      check(`postgres://tester:sekret@127.0.0.1:${pg.port}/postgres`),
      check(`${url}?sslmode=prefer`),
    ]);
    expect(ORACLE[oracle]).toBe("open");
    expect(bare).toMatchObject({ status: 0, record: { state: "open", ok: true } });
    expect(bare.record.reply).toContain("accepting connections (SCRAM-SHA-256");
    // A missing database is an authentication error: the server is up (pg_isready agrees).
    expect(db).toMatchObject({ status: 0, record: { state: "open" } });
    expect(user).toMatchObject({ status: 0, record: { state: "open", reply: "SELECT 1: 1\n" } });
    expect(user.record.target).toBe(`postgres://tester:***@127.0.0.1:${pg.port}/postgres`);
    expect(tls).toMatchObject({ status: 0, record: { state: "open" } });
    // No probe without a user left a line in the server's log: the exchange ended as pg_isready's does.
    const log = await Bun.file(join(pg.dir, "log")).text();
    expect(log).not.toMatch(/FATAL|ERROR|expected/);
  }, 30_000);

  test("a wrong password fails with the server's words; the password is never shown", async () => {
    const r = await check(`postgres://tester:wrong-one@127.0.0.1:${pg.port}/postgres`);
    expect(r.status).toBe(1);
    expect(r.record).toMatchObject({ state: "error", error: 'password authentication failed for user "tester"' });
    expect(JSON.stringify(r.record)).not.toContain("wrong-one");
    const env = await run(fromSource, ["check", "--json", `postgres://tester@127.0.0.1:${pg.port}/postgres`], {
      env: { PGPASSWORD: "sekret" },
    });
    expect(jsonRecord(env.stdout)).toMatchObject({ state: "open" });
  }, 20_000);

  test("sslmode=require at a server without SSL fails, never open", async () => {
    const r = await check(`postgres://127.0.0.1:${pg.port}?sslmode=require`);
    expect(r.status).toBe(1);
    expect(r.record.state).toBe("error");
    expect(r.record.error).toContain("does not support SSL");
  }, 20_000);

  test("a crashed server restarted as a standby is not ready (57P03, in its words) until promoted; " +
    "pg_isready agrees at each step", async () => {
    const url = `postgres://127.0.0.1:${pg.port}`;
    await pg.stop("immediate");
    const [down, downOracle] = await Promise.all([check(url), pgIsReady(pg.port)]);
    expect(graded(down.record.state)).toBe(ORACLE[downOracle]!);
    expect(down.record.state).toBe("closed");
    writeStandbySignal(pg);
    await pg.start({ wait: false, settings: ["hot_standby=off"] });
    await waitForListening("tcp", pg.port, 10_000);
    const [starting, startingOracle] = await Promise.all([check(url), pgIsReady(pg.port)]);
    expect(ORACLE[startingOracle]).toBe("not_ready");
    expect(starting.status).toBe(1);
    expect(starting.record).toMatchObject({ state: "not_ready", ok: false });
    expect(starting.record.error).toMatch(/the database system is (starting up|not accepting connections)/);
    expect(starting.record.reply).toStartWith("FATAL 57P03: ");
    // --wait waits through it, and passes once promoted.
    const waiting = run(fromSource, ["check", "--json", "--wait", "15s", "--timeout", "1s", url], {
      timeoutMs: 25_000,
    });
    await Bun.sleep(500);
    // pg_ctl promote refuses while the crash recovery has not yet reached standby mode.
    let promoted = await pg.ctl("-w", "promote");
    for (let i = 0; promoted.status !== 0 && i < 40; i++) {
      await Bun.sleep(250);
      promoted = await pg.ctl("-w", "promote");
    }
    expect(promoted).toMatchObject({ status: 0 });
    const [ready, readyOracle] = await Promise.all([waiting, pgIsReady(pg.port)]);
    expect(ORACLE[readyOracle]).toBe("open");
    expect(ready.status).toBe(0);
    expect(jsonRecord(ready.stdout)).toMatchObject({ state: "open" });
  }, 60_000);

  test("--wait postgres:// -- CLIENT starts the client only once pg_isready says ready, over restarts", async () => {
    const url = `postgres://127.0.0.1:${pg.port}`;
    // The client is the oracle itself: pg_isready exits 0 only if the server accepts at the moment it runs.
    const client = [`${PG_BIN}/pg_isready`, "-q", "-h", "127.0.0.1", "-p", String(pg.port)];
    for (let round = 1; round <= 3; round++) {
      await pg.stop("immediate");
      await pg.start({ wait: false });
      const r = await run(fromSource, ["check", "--quiet", "--wait", "30s", "--timeout", "1s", url, "--", ...client], {
        timeoutMs: 40_000,
      });
      expect({ round, status: r.status, stderr: r.stderr }).toEqual({ round, status: 0, stderr: "" });
    }
  }, 120_000);

  test("postgres:// at redis and at an HTTP server is a mismatch naming what answered, never open", async () => {
    const [atRedis, atHttp, redisOracle, httpOracle] = await Promise.all([
      check(`postgres://127.0.0.1:${redis.port}`),
      check(`postgres://127.0.0.1:${http.port}`),
      pgIsReady(redis.port, 2),
      pgIsReady(http.port, 2),
    ]);
    expect(atRedis.status).toBe(1);
    expect(atRedis.record).toMatchObject({ state: "mismatch", ok: false });
    expect(atRedis.record.error).toContain("a redis server");
    expect(atHttp.status).toBe(1);
    expect(atHttp.record).toMatchObject({ state: "mismatch", ok: false });
    expect(atHttp.record.error).toContain("an HTTP server");
    // pg_isready never calls them ready either.
    expect(redisOracle).not.toBe(0);
    expect(httpOracle).not.toBe(0);
  }, 30_000);
});
