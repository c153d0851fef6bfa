// Programs nobody here wrote (python3, nc, socat), run as peers: presence checks, free ports, bounded runs.
import type { Subprocess } from "bun";

/** PACKAGES names the Debian package each peer program comes in, for the line that says what to install. */
const PACKAGES: Record<string, string> = {
  nc: "netcat-openbsd",
  socat: "socat",
  python3: "python3",
  rdate: "rdate",
  inetd: "openbsd-inetd",
  openssl: "openssl",
  ss: "iproute2",
  ip: "iproute2",
  unshare: "util-linux",
  setpriv: "util-linux",
  script: "bsdutils",
  bash: "bash",
  shellcheck: "shellcheck",
  "qemu-aarch64-static": "qemu-user-static",
  "qemu-x86_64-static": "qemu-user-static",
  check_tcp: "monitoring-plugins-basic",
  check_udp: "monitoring-plugins-basic",
};

/** missingTool is the one line a test fails with when a peer program is not installed. */
export function missingTool(name: string): Error {
  const pkg = PACKAGES[name] ?? name;
  return new Error(
    `${name} is not installed: apt-get install ${pkg} (bash scripts/setup.sh installs every peer the tests use)`,
  );
}

/** requireTool fails the test, with what to install, when a peer program is missing: never a silent skip. */
export function requireTool(name: string): string {
  const path = Bun.which(name);
  if (!path) throw missingTool(name);
  return path;
}

/** freePort asks the kernel for a port that was free a moment ago, for peers that cannot bind port 0 and report it. */
export async function freePort(transport: "tcp" | "udp" = "tcp"): Promise<number> {
  if (transport === "udp") {
    const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const port = s.port;
    s.close();
    return port;
  }
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

export interface Finished {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** runPeer runs a program to its end, killing it after timeoutMs so no test can hang on a peer. */
export async function runPeer(argv: string[], stdin?: string, timeoutMs = 10_000): Promise<Finished> {
  const proc = Bun.spawn(argv, {
    stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, status] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { status: proc.signalCode ? null : status, stdout, stderr };
}

/** startPeer starts a long-running peer server and resolves once its stdout matches `ready`. */
export async function startPeer(
  argv: string[],
  ready: RegExp,
  timeoutMs = 10_000,
): Promise<{ proc: Subprocess; match: RegExpExecArray }> {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  for (;;) {
    const match = ready.exec(text);
    if (match) {
      clearTimeout(timer);
      reader.releaseLock();
      return { proc, match };
    }
    const { value, done } = await reader.read();
    if (done) {
      clearTimeout(timer);
      throw new Error(`${argv.join(" ")} did not start: ${text}${await new Response(proc.stderr).text()}`);
    }
    text += decoder.decode(value);
  }
}

/**
 * waitForListening polls the kernel's socket table (ss, from iproute2) until the port is bound, without
 * connecting: a probe connection would use up a one-shot listener such as `nc -l`.
 */
export async function waitForListening(transport: "tcp" | "udp", port: number, timeoutMs = 5000): Promise<void> {
  requireTool("ss");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ss = Bun.spawnSync(["ss", "-Hn", transport === "tcp" ? "-lt" : "-lu", `sport = :${port}`]);
    if (ss.stdout.toString().trim() !== "") return;
    if (Date.now() > deadline) throw new Error(`nothing listened on ${transport} port ${port} within ${timeoutMs}ms`);
    await Bun.sleep(20);
  }
}

/**
 * fullAcceptQueue starts a listener (python3, listen(0), never accepting) and fills its queue, so every further SYN
 * is dropped: a connect there neither succeeds nor is refused. stop() lets go of the fillers and the listener.
 */
export async function fullAcceptQueue(): Promise<{ port: number; stop(): void }> {
  const script =
    "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\n" +
    "print(s.getsockname()[1],flush=True)\ntime.sleep(20)";
  const peer = Bun.spawn([requireTool("python3"), "-c", script], { stdout: "pipe" });
  const port = Number(new TextDecoder().decode((await peer.stdout.getReader().read()).value).trim());
  // These connects succeed (the queue takes them) or hang (it is full): either way they stay put.
  const held = await Promise.allSettled(
    [0, 1, 2].map(() =>
      Promise.race([
        Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }),
        Bun.sleep(300).then(() => undefined),
      ]),
    ),
  );
  return {
    port,
    stop() {
      for (const h of held) if (h.status === "fulfilled") h.value?.terminate();
      peer.kill("SIGKILL");
    },
  };
}
