// A check that runs out of file descriptors must say so, never blame the target: Bun reports a connect whose socket
// could not be made (EMFILE) as ECONNREFUSED, and `check --concurrency 1000` under `ulimit -n 128` said 878 of 1000
// tries of an open port were "closed" (a false pass for --down).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonRecords } from "../check/json-records.ts";
import { requireTool, runPeer, startPeer } from "../support/peers.ts";
import { fromSource, run } from "../support/run.ts";
import { selfSigned } from "../verdicts/pki.ts";
import { startNginx } from "../verdicts/servers.ts";

/** The textbook's UDP server, python3: each datagram back in uppercase. */
const UPPER =
  "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('127.0.0.1',0))\n" +
  "print(s.getsockname()[1],flush=True)\nwhile True:\n  m,a=s.recvfrom(2048)\n  s.sendto(m.upper(),a)\n";

let nginx: { http: number; stop(): void };
let udp: { proc: Subprocess; port: number };
const dir = mkdtempSync(join(tmpdir(), "upcat-open-files-"));

beforeAll(async () => {
  nginx = await startNginx(mkdtempSync(join(dir, "nginx-")), selfSigned(dir, "localhost"));
  const u = await startPeer([requireTool("python3"), "-c", UPPER], /^(\d+)\n/);
  udp = { proc: u.proc, port: Number(u.match[1]) };
  // The oracle: netcat says the port is open.
  expect((await runPeer([requireTool("nc"), "-z", "127.0.0.1", String(nginx.http)])).status).toBe(0);
});
afterAll(() => {
  nginx.stop();
  udp.proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/**
 * underLimit runs upcat in a shell with `ulimit -n 128`, after `held` descriptors of /dev/null are opened and left
 * to it (fds 10 and up): what it may still open is less than its limit says.
 */
async function underLimit(args: string[], held = 0) {
  const opens = Array.from({ length: held }, (_, i) => `exec ${10 + i}</dev/null;`).join(" ");
  const limited = {
    argv: ["bash", "-c", `ulimit -n 128; ${opens} exec "$@"`, "bash", ...fromSource.argv],
    env: fromSource.env,
  };
  const { stdout, stderr, status } = await run(limited, ["check", ...args], { timeoutMs: 30_000 });
  return { stdout, stderr, status };
}

const times = (n: number, target: string) => Array.from({ length: n }, () => target);

describe("check under `ulimit -n 128`", () => {
  test("--concurrency 1000 is lowered to what fits, and said; 1000 checks of an open port pass", async () => {
    const r = await underLimit(["--json", "--concurrency", "1000", ...times(1000, `127.0.0.1:${nginx.http}`)]);
    expect(r.stderr).toBe(
      "upcat: --concurrency 1000 lowered to 48: this process may have 128 files open (ulimit -n)\n",
    );
    const records = jsonRecords(r.stdout);
    expect(records.length).toBe(1000);
    expect(records.filter((x) => x.state !== "open")).toEqual([]);
    expect(r.status).toBe(0);
    const quiet = await underLimit(["--quiet", "--concurrency", "1000", ...times(1000, `127.0.0.1:${nginx.http}`)]);
    expect(quiet).toEqual({ stdout: "", stderr: "", status: 0 });
    // Fewer targets than fit never reach the limit: nothing to say.
    const few = await underLimit(["--concurrency", "1000", ...times(10, `127.0.0.1:${nginx.http}`)]);
    expect(few.stderr).toStartWith("10 of 10 targets passed");
    // A monitoring system reads one line: nothing more on stderr either.
    const nagios = await underLimit(["--nagios", "--concurrency", "1000", ...times(60, `127.0.0.1:${nginx.http}`)]);
    expect(nagios).toMatchObject({ stderr: "", status: 0 });
    expect(nagios.stdout).toStartWith("TCP OK - 60 of 60 OK");
  }, 30_000);

  test("most descriptors already taken: a try with no socket is an error naming the limit, never closed", async () => {
    const tcp = times(300, `127.0.0.1:${nginx.http}`);
    const http = times(300, `http://127.0.0.1:${nginx.http}/`);
    const udpTargets = times(300, `udp://127.0.0.1:${udp.port}`);
    // 100 of 128 held: 48 tries at once cannot all have a socket.
    for (const [name, targets, extra] of [
      ["tcp", tcp, []],
      ["http", http, []],
      ["udp", udpTargets, ["--send", "hi", "--expect", "HI"]],
    ] as const) {
      const r = await underLimit(["--json", "--concurrency", "48", ...extra, ...targets], 100);
      const records = jsonRecords(r.stdout);
      expect({ name, count: records.length }).toEqual({ name, count: 300 });
      const failed = records.filter((x) => x.state !== "open");
      // Some tries had no socket (the test means nothing otherwise), and each says why: this machine, not the port.
      expect({ name, some: failed.length > 0 }).toEqual({ name, some: true });
      const said = new Set(failed.map((x) => `${x.state}: ${x.error}`));
      expect({ name, said: [...said] }).toEqual({
        name,
        said: ["error: too many open files in this process (ulimit -n)"],
      });
      expect(r.status).toBe(1);
    }
  }, 60_000);
});
