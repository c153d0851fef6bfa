// Service URLs in every output form: --prometheus that promtool accepts, one --nagios line, no password anywhere,
// and each form run into a closed pipe stops quietly.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { fromSource, run } from "../../support/run.ts";
import { requireTool } from "../../support/peers.ts";
import { need, startRedis } from "../../verdicts/servers.ts";
import { type Running, tempDir } from "./servers.ts";

const PW = "Zq-0utputs-pw";
const dir = tempDir("service-outputs");
let redis: Running | undefined;
let targets: string[] = [];

beforeAll(async () => {
  redis = await startRedis(dir.dir, PW);
  targets = [
    `redis://:${PW}@127.0.0.1:${redis.port}/0`,
    `redis://127.0.0.1:${redis.port}`,
    `postgres://app:${PW}@127.0.0.1:1/db`,
    "memcached://127.0.0.1:1",
  ];
}, 20_000);

afterAll(() => {
  redis?.stop();
  dir.remove();
});

test("--prometheus: promtool check metrics accepts it; the states and protos are the services'", async () => {
  const r = await run(fromSource, ["check", "--prometheus", ...targets]);
  expect(r.status).toBe(1);
  expect(r.stdout + r.stderr).not.toContain(PW);
  expect(r.stdout).toContain(`upcat_check_up{target="redis://:***@127.0.0.1:${redis!.port}/0",proto="redis"`);
  expect(r.stdout).toMatch(/upcat_check_state\{[^}]*proto="postgres"[^}]*state="closed"\} 1/);
  const proc = Bun.spawn([need("promtool", "prometheus"), "check", "metrics"], {
    stdin: new Blob([r.stdout]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [status, out, err] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  expect({ status, out, err }).toEqual({ status: 0, out: "", err: "" });
}, 30_000);

test("--nagios: one line, CRITICAL for the password-less redis, no password", async () => {
  const r = await run(fromSource, ["check", "--nagios", ...targets]);
  expect(r.status).toBe(2);
  expect(r.stdout.trim().split("\n")).toHaveLength(1);
  expect(r.stdout).toStartWith("UPCAT CRITICAL - 1 of 4 OK");
  expect(r.stdout).toContain("password");
  expect(r.stdout + r.stderr).not.toContain(PW);
  const one = await run(fromSource, ["check", "--nagios", targets[0]!]);
  expect(one.status).toBe(0);
  expect(one.stdout).toStartWith("REDIS OK - ");
}, 30_000);

// As every command does (tests/cli/trust-scenarios.ts): a reader that went away ends the run quietly, exit 0.
test.each([[[]], [["--json"]], [["--nagios"]], [["--prometheus"]]])(
  "check %p of service URLs | true: exit 0, nothing on stderr",
  async (form) => {
    const quoted = [...fromSource.argv, "check", ...form, ...targets].map((w) => `'${w}'`).join(" ");
    const err = "/tmp/upcat-svc-pipe-$$.err";
    const script = `${quoted} 2>${err} | true; s=\${PIPESTATUS[0]}; cat ${err} >&2; rm -f ${err}; exit $s`;
    const proc = Bun.spawn([requireTool("bash"), "-c", script], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...fromSource.env, NO_COLOR: "1" },
    });
    const [stderr, status] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect({ stderr, status }).toEqual({ stderr: "", status: 0 });
  },
  30_000,
);
