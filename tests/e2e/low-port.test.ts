// Binding a port below 1024 without privilege: a one-line error with a hint, exit 1.
import { expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compiled } from "../support/binary.ts";
import { requireTool } from "../support/peers.ts";
import { run } from "../support/run.ts";

test("serve --port 80 as an unprivileged user: permission denied, and what to do", async () => {
  const unprivilegedStart = Number(await Bun.file("/proc/sys/net/ipv4/ip_unprivileged_port_start").text());
  if (unprivilegedStart <= 80)
    throw new Error(
      `this kernel lets anyone bind port 80 (ip_unprivileged_port_start=${unprivilegedStart}): the test cannot ` +
        `provoke EACCES`,
    );
  const cmd = await compiled();
  let argv = cmd.argv;
  if (process.getuid?.() === 0) {
    // Root may bind anything: drop to nobody, with a copy of the binary that nobody can reach.
    const dir = mkdtempSync(join(tmpdir(), "upcat-nobody-"));
    chmodSync(dir, 0o755);
    const copy = join(dir, "upcat");
    copyFileSync(cmd.argv[0]!, copy);
    chmodSync(copy, 0o755);
    argv = [requireTool("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", copy];
  }
  for (const transport of ["--tcp", "--udp"]) {
    const r = await run({ argv, env: cmd.env }, ["serve", transport, "--port", "80", "--host", "127.0.0.1"], {
      cwd: tmpdir(),
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `upcat: bind ${transport.slice(2)} 127.0.0.1:80: permission denied (ports below 1024 need root or ` +
        `CAP_NET_BIND_SERVICE; try --port above 1023)\n`,
    );
  }
});
