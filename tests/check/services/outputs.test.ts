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

test.each([
  [[], 1],
  [["--json"], 1],
  [["--nagios"], 2],
  [["--prometheus"], 1],
])(
  "check %p of service URLs | true: its own status (%p), nothing on stderr",
  async (form, own) => {
    const quoted = [...fromSource.argv, "check", ...form, ...targets].map((w) => `'${w}'`).join(" ");
    const proc = Bun.spawn(
      [
        requireTool("bash"),
        "-c",
        `${quoted} 2>/tmp/upcat-svc-pipe-$$.err | true; s=\${PIPESTATUS[0]}; cat /tmp/upcat-svc-pipe-$$.err >&2; rm -f /tmp/upcat-svc-pipe-$$.err; exit $s`,
      ],
      { stdout: "pipe", stderr: "pipe", env: { ...fromSource.env, NO_COLOR: "1" } },
    );
    const [stderr, status] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect({ stderr, status }).toEqual({ stderr: "", status: own });
  },
  30_000,
);
