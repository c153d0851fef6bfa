// The container image's file tree, chrooted into as its Dockerfile runs it (user 65532, its ENV and ENTRYPOINT): serve, send and check --tls work with only those files.
//
// Containers cannot run on these machines (podman's runtime fails on their cgroups), so this runs the
// image's exact files the way a runtime would: a private mount namespace with /proc and /dev mounted,
// chroot into the tree, the Dockerfile's user. The image is FROM scratch plus this tree, nothing else.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { assembleRootfs, type Arch } from "../../scripts/container/rootfs.ts";
import { requireTool } from "../support/peers.ts";
import { targetRelease } from "../support/release.ts";
import { run, startServer, type Command, type Server } from "../support/run.ts";

const DOCKERFILE = new URL("../../scripts/container/Dockerfile", import.meta.url).pathname;
let dir: string;

/** Image is what the Dockerfile says about running the image. */
interface Image {
  user: string;
  env: Record<string, string>;
  entrypoint: string[];
}

function readDockerfile(): Image {
  const lines = readFileSync(DOCKERFILE, "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
  const image: Image = { user: "0:0", env: {}, entrypoint: [] };
  for (const line of lines) {
    const [word, ...rest] = line.split(" ");
    const value = rest.join(" ");
    if (word === "USER") image.user = value;
    if (word === "ENTRYPOINT") image.entrypoint = JSON.parse(value);
    if (word === "ENV") {
      const eq = value.indexOf("=");
      image.env[value.slice(0, eq)] = value.slice(eq + 1);
    }
  }
  return image;
}

/** inImage is the Command that runs the image's entrypoint in tree, as a runtime would; prefix runs it through another program in the tree (qemu). */
function inImage(tree: string, prefix: string[] = []): Command {
  const image = readDockerfile();
  // No --fork: sh, chroot and upcat exec one another in one process, so a signal reaches upcat itself.
  const mount = requireTool("mount");
  const script = `${mount} -t proc proc "$0/proc" && ${mount} --rbind /dev "$0/dev" && exec ${requireTool("chroot")} --userspec=${image.user} "$0" "$@"`;
  return {
    argv: [requireTool("unshare"), "--mount", "/bin/sh", "-c", script, tree, ...prefix, ...image.entrypoint],
    // The image's environment only: a runtime passes nothing of the host's.
    env: { ...image.env, PATH: "/usr/local/bin", HOME: "/home/nonroot" },
  };
}

/** tlsServer listens with a certificate from a CA made for this run, and returns the port and the CA. */
function tlsServer(): { port: number; ca: string; stop: () => void } {
  const openssl = requireTool("openssl");
  const sh = (args: string[]) => {
    const r = Bun.spawnSync([openssl, ...args], { cwd: dir, stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr.toString()}`);
  };
  sh(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=upcat container test CA"]);
  sh(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1"]);
  writeFileSync(join(dir, "ext"), "subjectAltName=IP:127.0.0.1\n");
  sh(["x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext"]);
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(join(dir, "srv.pem"), "utf8"), key: readFileSync(join(dir, "srv.key"), "utf8") },
    socket: { data() {}, open() {} },
  });
  return { port: listener.port, ca: readFileSync(join(dir, "ca.pem"), "utf8"), stop: () => listener.stop(true) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "upcat-container-"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the Dockerfile is FROM scratch plus the tree, non-root, with upcat as its entrypoint", () => {
  const text = readFileSync(DOCKERFILE, "utf8");
  expect(text).toMatch(/^FROM scratch$/m);
  expect(text).toMatch(/^COPY \$\{TARGETARCH\}\/ \/$/m);
  expect(readDockerfile()).toEqual({ user: "65532:65532", env: { SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt" }, entrypoint: ["/usr/local/bin/upcat"] });
});

describe("amd64: the tree the release builds from upcat-linux-x64-baseline", () => {
  let tree: string;
  let files: string[];
  let server: Server;

  beforeAll(async () => {
    tree = join(dir, "amd64");
    files = assembleRootfs(await targetRelease("linux-x64-baseline"), "amd64", tree);
    server = await startServer(inImage(tree), ["--host", "127.0.0.1", "--port", "0"], { timeoutMs: 60_000 });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
  });

  test("holds upcat, glibc's loader and libraries, the CA bundle, passwd and group: nothing else", () => {
    const all: string[] = [];
    const walk = (d: string, rel: string) => {
      for (const name of readdirSync(d)) {
        const st = statSync(join(d, name));
        if (st.isDirectory()) walk(join(d, name), `${rel}/${name}`);
        else all.push(`${rel}/${name}`);
      }
    };
    walk(tree, "");
    expect(all.sort()).toEqual([...new Set(files)].sort());
    expect(files).toContain("/usr/local/bin/upcat");
    expect(files).toContain("/lib64/ld-linux-x86-64.so.2");
    expect(files).toContain("/etc/ssl/certs/ca-certificates.crt");
  });

  test("upcat --version runs as user 65532", async () => {
    const r = await run(inImage(tree), ["--version"], { timeoutMs: 60_000 });
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(r.stdout).toStartWith(`upcat ${pkg.version} (`);
  });

  test.each(["tcp", "udp"])("serve in the image answers send over %s from the image", async (transport) => {
    const r = await run(inImage(tree), ["send", "--timeout", "10s", `${transport}://127.0.0.1:${server.port}`, "from the image"], { timeoutMs: 60_000 });
    expect(r).toMatchObject({ status: 0, stdout: "FROM THE IMAGE\n", stderr: "" });
  });

  test("check --tls verifies against the image's CA bundle: refused without the CA in it, open with it", async () => {
    const tls = tlsServer();
    try {
      const target = `127.0.0.1:${tls.port}`;
      const without = await run(inImage(tree), ["check", "--tls", target], { timeoutMs: 60_000 });
      expect(without.status).toBe(1);
      expect(without.stdout).toContain("certificate not trusted");
      // As if the CA were one of the bundle's (this run's own tree, assembled above, is changed; the build's is not).
      appendFileSync(join(tree, "etc/ssl/certs/ca-certificates.crt"), `\n${tls.ca}`);
      const trusted = await run(inImage(tree), ["check", "--tls", target], { timeoutMs: 60_000 });
      expect(trusted.stdout).toMatch(/^open +tcp:\/\/127\.0\.0\.1:\d+ .* tls TLSv1\.3 CN=127\.0\.0\.1/);
      expect(trusted.status).toBe(0);
    } finally {
      tls.stop();
    }
  }, 120_000);
});

test("arm64: the tree from upcat-linux-arm64 and the arm64 glibc runs --version and a send under qemu, chrooted", async () => {
  const arch: Arch = "arm64";
  const tree = join(dir, arch);
  assembleRootfs(await targetRelease("linux-arm64"), arch, tree);
  // qemu-user is static: copied in, it needs nothing from the tree but the arm64 files it runs.
  copyFileSync(requireTool("qemu-aarch64-static"), join(tree, "qemu"));
  const version = await run(inImage(tree, ["/qemu"]), ["--version"], { timeoutMs: 60_000 });
  expect(version).toMatchObject({ status: 0, stderr: "" });
  expect(version.stdout).toStartWith(`upcat ${pkg.version} (`);
  const server = Bun.udpSocket({ hostname: "127.0.0.1", socket: { data(s, data, port, addr) { s.send(data.toString().toUpperCase(), port, addr); } } });
  const s = await server;
  try {
    const r = await run(inImage(tree, ["/qemu"]), ["send", "--timeout", "10s", `udp://127.0.0.1:${s.port}`, "arm64 image"], { timeoutMs: 60_000 });
    expect(r).toMatchObject({ status: 0, stdout: "ARM64 IMAGE\n", stderr: "" });
  } finally {
    s.close();
  }
}, 180_000);
