// Real servers for the verdict suite, each on a free loopback port with its own temporary files, stopped by the suite.
import type { Subprocess } from "bun";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, waitForListening } from "../support/peers.ts";
import type { Certificate } from "./pki.ts";

/** Running is one started server: where it listens, and how to stop it. */
export interface Running {
  port: number;
  stop(): void;
}

/** need returns the path of a program a cell's peer needs, or fails with one line naming its Debian package. */
export function need(program: string, pkg: string): string {
  const path = Bun.which(program) ?? Bun.which(program, { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
  if (!path) throw new Error(`${program} is missing: apt-get install -y ${pkg} (listed in .ci/apt-packages)`);
  return path;
}

/** spawnServer starts a server that listens on `port` and resolves once the kernel shows the port bound. */
async function spawnServer(argv: string[], port: number, cwd?: string): Promise<Running> {
  const proc: Subprocess = Bun.spawn(argv, { cwd, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  try {
    await Promise.race([
      waitForListening("tcp", port, 10_000),
      proc.exited.then(async (code) => {
        throw new Error(
          `${argv[0]} exited with ${code} before listening: ` +
            `${await new Response(proc.stderr as ReadableStream).text()}`,
        );
      }),
    ]);
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  }
  return { port, stop: () => proc.kill("SIGTERM") };
}

/** Toy is a loopback server a few lines long, for behaviour no daemon shows on demand. */
export type Toy = "plain" | "banner" | "silent" | "close" | "reset";

export const BANNER = "220 mail.example ESMTP ready\r\n";

/**
 * startToy starts one of the simple peers of issue 12's matrix: `plain` echoes, `banner` greets with
 * an SMTP line, `silent` accepts and says nothing, `close` accepts and closes (FIN), `reset` accepts
 * and resets (python3, SO_LINGER 0: Bun cannot set it).
 */
export async function startToy(kind: Toy): Promise<Running> {
  if (kind === "reset") {
    const port = await freePort();
    const script = `import socket, struct
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", ${port}))
s.listen(512)
while True:
    c, _ = s.accept()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
`;
    return spawnServer([need("python3", "python3"), "-c", script], port);
  }
  const l = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(sock) {
        if (kind === "banner") sock.write(BANNER);
        if (kind === "close") sock.end();
      },
      data(sock, chunk) {
        if (kind === "plain") sock.write(chunk);
      },
    },
  });
  return { port: l.port, stop: () => l.stop(true) };
}

/** startTlsServer runs `openssl s_server -www` with a certificate: a TLS peer that answers GET / with a status page. */
export async function startTlsServer(cert: Certificate): Promise<Running> {
  const port = await freePort();
  return spawnServer(
    [
      need("openssl", "openssl"),
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      cert.cert,
      "-key",
      cert.key,
      "-www",
      "-quiet",
      "-no_dhe",
    ],
    port,
  );
}

/** startRedis runs redis-server on loopback with nothing saved; `password` turns on requirepass. */
export async function startRedis(dir: string, password?: string): Promise<Running> {
  const port = await freePort();
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--logfile",
    "",
  ];
  return spawnServer(
    [need("redis-server", "redis-server"), ...args, ...(password ? ["--requirepass", password] : [])],
    port,
  );
}

/** startMemcached runs memcached on loopback, TCP only. */
export async function startMemcached(): Promise<Running> {
  const port = await freePort();
  return spawnServer(
    [need("memcached", "memcached"), "-l", "127.0.0.1", "-p", String(port), "-U", "0", "-u", "nobody"],
    port,
  );
}

/** startSshd runs OpenSSH's sshd in the foreground on loopback with a fresh host key and no other configuration. */
export async function startSshd(dir: string): Promise<Running> {
  const sshd = need("sshd", "openssh-server");
  const key = join(dir, "ssh_host_ed25519_key");
  const keygen = Bun.spawnSync([need("ssh-keygen", "openssh-client"), "-q", "-t", "ed25519", "-N", "", "-f", key]);
  if (keygen.exitCode !== 0) throw new Error(`ssh-keygen failed: ${keygen.stderr}`);
  // sshd refuses to start without its privilege separation directory.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const port = await freePort();
  return spawnServer(
    [
      sshd,
      "-D",
      "-e",
      "-f",
      "/dev/null",
      "-o",
      `ListenAddress=127.0.0.1:${port}`,
      "-o",
      `HostKey=${key}`,
      "-o",
      "PidFile=none",
    ],
    port,
  );
}

/** startNginx runs nginx-light with one plain HTTP server and one HTTPS server (the certificate given). */
export async function startNginx(
  dir: string,
  cert: Certificate,
): Promise<{ http: number; https: number; stop(): void }> {
  const nginx = need("nginx", "nginx-light");
  const [http, https] = [await freePort(), await freePort()];
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `
user root;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server { listen 127.0.0.1:${http}; location / { return 200 "upcat verdicts\\n"; } }
  server {
    listen 127.0.0.1:${https} ssl; ssl_certificate ${cert.cert}; ssl_certificate_key ${cert.key};
    location / { return 200 "upcat verdicts over tls\\n"; }
  }
}
`,
  );
  const running = await spawnServer([nginx, "-p", dir, "-c", conf], http);
  await waitForListening("tcp", https);
  return { http, https, stop: running.stop };
}

/** DNS_NAME resolves to DNS_ADDRESS on the test dnsmasq, which knows nothing else and asks nobody. */
export const DNS_NAME = "example.test";
export const DNS_ADDRESS = "192.0.2.7";

/** startDnsmasq runs dnsmasq as an authoritative-only DNS server on loopback (UDP and TCP). */
export async function startDnsmasq(): Promise<Running> {
  const port = await freePort();
  return spawnServer(
    [
      need("dnsmasq", "dnsmasq"),
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      `--port=${port}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      `--address=/${DNS_NAME}/${DNS_ADDRESS}`,
      "--user=root",
      "--pid-file=",
      "--log-facility=-",
    ],
    port,
  );
}
