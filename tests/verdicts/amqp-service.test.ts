// amqp:// against Debian's rabbitmq-server, a node of the test's own (slow: it takes 10-20 s to start), with
// rabbitmqctl authenticate_user as the oracle for credentials.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { within } from "../support/wait.ts";
import { check, type Rabbit, startRabbit, tempDir } from "../check/services/servers.ts";
import { startRedis } from "./servers.ts";

const dir = tempDir("rabbit");
const redisDir = tempDir("rabbit-redis");
let rabbit: Rabbit | undefined;
let redis: { port: number; stop(): void } | undefined;

beforeAll(async () => {
  [rabbit, redis] = await Promise.all([startRabbit(dir.dir), startRedis(redisDir.dir)]);
}, 90_000);

afterAll(async () => {
  redis?.stop();
  if (rabbit) {
    rabbit.stop();
    await within("rabbitmq to stop", rabbit.exited, 30_000).catch(() => {});
  }
  dir.remove();
  redisDir.remove();
}, 40_000);

test("without credentials: Connection.Start is open, naming RabbitMQ and its version", async () => {
  const { status, record } = await check([`amqp://127.0.0.1:${rabbit!.port}`]);
  expect({ status, state: record.state }).toEqual({ status: 0, state: "open" });
  expect(record.reply).toMatch(/^RabbitMQ 3\.\d+\.\d+ \(AMQP 0-9\)$/);
}, 30_000);

test("guest:guest opens the default vhost and closes, as rabbitmqctl authenticate_user agrees", async () => {
  const oracle = await rabbit!.ctl(["authenticate_user", "guest", "guest"]);
  expect(oracle.status).toBe(0);
  for (const url of [
    `amqp://guest:guest@127.0.0.1:${rabbit!.port}`,
    `amqp://guest:guest@127.0.0.1:${rabbit!.port}/%2F`,
  ]) {
    const { status, record } = await check([url]);
    expect({ status, state: record.state }).toEqual({ status: 0, state: "open" });
    expect(record.reply).toMatch(/vhost \/ opened$/);
    expect(JSON.stringify(record)).not.toContain("guest:guest");
  }
}, 30_000);

test("a wrong password is auth_failed with ACCESS_REFUSED, as rabbitmqctl authenticate_user fails", async () => {
  const oracle = await rabbit!.ctl(["authenticate_user", "guest", "wrong"]);
  expect(oracle.status).not.toBe(0);
  const { status, record, cause } = await check([`amqp://guest:wrong@127.0.0.1:${rabbit!.port}`]);
  expect({ status, state: record.state, cause }).toEqual({ status: 1, state: "error", cause: "auth_failed" });
  expect(record.error).toMatch(/^403 ACCESS_REFUSED/);
}, 30_000);

test("a vhost that does not exist fails with the server's words", async () => {
  const { status, record } = await check([`amqp://guest:guest@127.0.0.1:${rabbit!.port}/nosuch`]);
  expect({ status, state: record.state }).toEqual({ status: 1, state: "error" });
  expect(record.error).toMatch(/NOT_ALLOWED - vhost nosuch not found/);
}, 30_000);

test("amqp:// at redis, and redis:// at rabbitmq: a mismatch naming what answered", async () => {
  const atRedis = await check([`amqp://127.0.0.1:${redis!.port}`, "--timeout", "3s"]);
  // redis waits for the end of a line that the AMQP header never sends: near the deadline a second connection asks
  // what listens there, and redis names itself.
  expect({ status: atRedis.status, state: atRedis.record.state, cause: atRedis.cause }).toEqual({
    status: 1,
    state: "mismatch",
    cause: "wrong_service",
  });
  expect(atRedis.record.error).toMatch(/^a redis server answered "-ERR .*", not AMQP$/);
  const atRabbit = await check([`redis://127.0.0.1:${rabbit!.port}`]);
  expect({ status: atRabbit.status, state: atRabbit.record.state, cause: atRabbit.cause }).toEqual({
    status: 1,
    state: "mismatch",
    cause: "wrong_service",
  });
  expect(atRabbit.record.error).toMatch(/^an AMQP server answered/);
}, 30_000);
