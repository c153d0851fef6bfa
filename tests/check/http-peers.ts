// HTTP(S) servers for upcat check's tests, each on a free loopback port: tests/check/http_peer.py, python3 -m
// http.server, nginx-light and openssl s_server.
import type { Subprocess } from "bun";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, requireTool, startPeer, waitForListening } from "../support/peers.ts";

const PEER = new URL("./http_peer.py", import.meta.url).pathname;

export interface HttpPeer {
  port: number;
  /** base is the peer's root URL, without the trailing slash: `${base}/status/500`. */
  base: string;
  stop(): void;
}

/** startHttpPeer runs http_peer.py on 127.0.0.1 (or ::1) and resolves once it listens. */
export async function startHttpPeer(host = "127.0.0.1"): Promise<HttpPeer> {
  const { proc, match } = await startPeer([requireTool("python3"), PEER, host], /listening (\d+)/);
  const port = Number(match[1]);
  return { port, base: `http://${host.includes(":") ? `[${host}]` : host}:${port}`, stop: () => proc.kill("SIGTERM") };
}

/** startStaticServer runs `python3 -m http.server` over a fresh directory holding index.html with `text`. */
export async function startStaticServer(text: string): Promise<HttpPeer> {
  const dir = mkdtempSync(join(tmpdir(), "upcat-www-"));
  writeFileSync(join(dir, "index.html"), text);
  const port = await freePort();
  const proc: Subprocess = Bun.spawn(
    [requireTool("python3"), "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", dir],
    { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
  );
  await waitForListening("tcp", port, 10_000);
  return { port, base: `http://127.0.0.1:${port}`, stop: () => proc.kill("SIGTERM") };
}

/** startNotHttp is a TCP peer that greets in another protocol, as an SSH or SMTP server does, and never speaks HTTP. */
export function startNotHttp(greeting = "SSH-2.0-OpenSSH_9.2\r\n"): HttpPeer {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void s.write(greeting), data() {} } });
  return { port: l.port, base: `http://127.0.0.1:${l.port}`, stop: () => l.stop(true) };
}

/** startSilent accepts connections and says nothing, for timeouts. */
export function startSilent(): HttpPeer {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  return { port: l.port, base: `http://127.0.0.1:${l.port}`, stop: () => l.stop(true) };
}
