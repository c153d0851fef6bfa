// rediss:// trusts a certificate as redis-cli --tls does: one that does not verify fails unless --insecure, --ca
// trusts its CA; redis-cli with the same trust is the oracle.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { freePort } from "../../support/peers.ts";
import { selfSigned } from "../../verdicts/pki.ts";
import { check, type Running, spawnServer, tempDir } from "./servers.ts";

const dir = tempDir("rediss");
let redis: Running | undefined;
let ca = "";

beforeAll(async () => {
  const cert = selfSigned(dir.dir, "localhost");
  ca = cert.cert;
  const port = await freePort();
  redis = await spawnServer(
    [
      "redis-server",
      "--port",
      "0",
      "--bind",
      "127.0.0.1",
      "--tls-port",
      String(port),
      "--tls-cert-file",
      cert.cert,
      "--tls-key-file",
      cert.key,
      "--tls-auth-clients",
      "no",
      "--save",
      "",
      "--dir",
      dir.dir,
    ],
    port,
  );
}, 30_000);

afterAll(() => {
  redis?.stop();
  dir.remove();
});

/** redisCli asks the same server with redis-cli --tls and the trust given: the oracle. */
function redisCli(trust: string[]): boolean {
  const r = Bun.spawnSync(["redis-cli", "--tls", ...trust, "-h", "127.0.0.1", "-p", String(redis!.port), "ping"], {
    timeout: 10_000,
  });
  return r.exitCode === 0 && r.stdout.toString().trim() === "PONG";
}

test("a self-signed certificate fails without trust, as redis-cli --tls says", async () => {
  const { status, record } = await check([`rediss://127.0.0.1:${redis!.port}`]);
  expect(redisCli([])).toBe(false);
  expect({ status, state: record.state }).toEqual({ status: 1, state: "error" });
  expect(record.error).toContain("certificate does not verify");
}, 30_000);

test("--insecure and --ca each make it pass with PONG, as redis-cli --insecure and --cacert do", async () => {
  expect(redisCli(["--insecure"])).toBe(true);
  expect(redisCli(["--cacert", ca])).toBe(true);
  for (const trust of [["--insecure"], ["--ca", ca]]) {
    const { status, record } = await check([`rediss://127.0.0.1:${redis!.port}`, ...trust]);
    expect({ status, state: record.state, reply: record.reply }).toEqual({ status: 0, state: "open", reply: "PONG" });
  }
}, 30_000);

test("redis:// (no TLS) at the TLS port is no PONG, and --ca with a plain redis:// is a usage error", async () => {
  const plain = await check([`redis://127.0.0.1:${redis!.port}`, "--timeout", "2s"]);
  expect(plain.status).toBe(1);
  expect(plain.record.state).not.toBe("open");
  const misuse = await check([`redis://127.0.0.1:${redis!.port}`, "--ca", ca]).catch((err: Error) => err.message);
  expect(String(misuse)).toContain("--ca is for TLS checks");
}, 30_000);
