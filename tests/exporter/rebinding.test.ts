// DNS rebinding: the gate looks a name up and admits it, then the check looks it up again and is told loopback. In a
// network namespace of the test's own, a DNS server answers each A query in turn with an admitted address and
// 127.0.0.1 (TTL 0, and Bun's own DNS cache off), and a port listens on 127.0.0.1 only: a probe must never report it
// open. curl, run inside the namespace, asks.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { requireTool, startPeer } from "../support/peers.ts";
import { fromSource } from "../support/run.ts";
import { type Exporter, series, startUpcat } from "./exporters.ts";

const ns = `upcat-rebind-${process.pid}`;
const admitted = `10.214.${process.pid % 250}.1`;
const etc = `/etc/netns/${ns}`;
const PORT = 7007;
let dns: Subprocess | undefined;
let exporter: Exporter | undefined;

const sh = (argv: string[]) => {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
};
const inside = (argv: string[]) => ["ip", "netns", "exec", ns, ...argv];

beforeAll(async () => {
  requireTool("ip");
  Bun.spawnSync(["ip", "netns", "del", ns]);
  mkdirSync(etc, { recursive: true });
  writeFileSync(`${etc}/resolv.conf`, "nameserver 127.0.0.1\n");
  writeFileSync(`${etc}/hosts`, "127.0.0.1 localhost\n");
  sh(["ip", "netns", "add", ns]);
  sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
  sh(["ip", "-n", ns, "addr", "add", `${admitted}/32`, "dev", "lo"]);
  const script = new URL("./rebind_dns.py", import.meta.url).pathname;
  dns = (await startPeer(inside([requireTool("python3"), script, admitted, String(PORT)]), /ready/)).proc;
  exporter = await startUpcat(["--allow-target", "10.0.0.0/8"], {
    argv: inside(fromSource.argv),
    env: { ...fromSource.env, BUN_CONFIG_DNS_TIME_TO_LIVE_SECONDS: "0" },
  });
}, 30_000);

afterAll(async () => {
  await exporter?.stop();
  dns?.kill("SIGKILL");
  Bun.spawnSync(["ip", "netns", "del", ns]);
  rmSync(etc, { recursive: true, force: true });
});

test("a name admitted for 10/8 that the check's own lookup rebinds to 127.0.0.1 is refused, never reported", () => {
  const curl = requireTool("curl");
  const said: string[] = [];
  for (let i = 0; i < 6; i++) {
    const url = `${exporter!.base}/probe?target=rebind.test:${PORT}&module=tcp`;
    const out = sh(inside([curl, "-s", "-m", "10", "-w", "\\n%{http_code}", url]));
    const status = out.slice(out.lastIndexOf("\n") + 1);
    const body = out.slice(0, out.lastIndexOf("\n"));
    if (status === "200") expect(series(body).get("probe_success")).toBe(0);
    else expect({ status, body }).toEqual({ status: "403", body: expect.stringContaining("127.0.0.1") });
    said.push(status === "403" ? body.trim() : `probe_success ${series(body).get("probe_success")}`);
  }
  // The rebound answer came to the check's lookup at least once, and was caught after it, naming the address.
  expect(said).toContain("rebind.test (127.0.0.1) is not an allowed target");
}, 60_000);
