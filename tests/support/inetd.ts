// openbsd-inetd's internal services as a reference implementation, on test ports on ::1 only.
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, requireTool, waitForListening } from "./peers.ts";

export const INETD_SERVICES = ["echo", "discard", "chargen", "daytime", "time"] as const;
export type InetdService = (typeof INETD_SERVICES)[number];

export interface Inetd {
  ports: Record<InetdService, number>;
  stop(): Promise<void>;
}

/**
 * startInetd runs inetd in a private mount namespace whose /etc/services maps the internal
 * services to free test ports: inetd names internal services only by their /etc/services names.
 * It listens on ::1 only; this inetd ignores datagrams from IPv4 loopback sources.
 */
export async function startInetd(): Promise<Inetd> {
  const inetd = requireTool("inetd");
  const unshare = requireTool("unshare");
  if (process.getuid?.() !== 0)
    throw new Error("the inetd reference needs root (a mount namespace for its /etc/services)");
  const dir = mkdtempSync(join(tmpdir(), "upcat-inetd-"));
  const ports = {} as Record<InetdService, number>;
  for (const name of INETD_SERVICES) ports[name] = await freePort("tcp");
  writeFileSync(
    join(dir, "services"),
    INETD_SERVICES.map((s) => `${s}\t${ports[s]}/tcp\n${s}\t${ports[s]}/udp\n`).join(""),
  );
  writeFileSync(
    join(dir, "inetd.conf"),
    INETD_SERVICES.map(
      (s) => `::1:${s}\tstream\ttcp6\tnowait\troot\tinternal\n::1:${s}\tdgram\tudp6\twait\troot\tinternal\n`,
    ).join(""),
  );
  const script = `mount --bind ${dir}/services /etc/services && exec ${inetd} -d ${dir}/inetd.conf`;
  const proc: Subprocess = Bun.spawn([unshare, "-m", "sh", "-c", script], { stdout: "ignore", stderr: "pipe" });
  for (const name of INETD_SERVICES) await waitForListening("tcp", ports[name]);
  return {
    ports,
    async stop() {
      proc.kill();
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
