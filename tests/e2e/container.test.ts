// The container image, built by podman from scripts/container/Dockerfile and the trees the release assembles, then its
// files run chrooted as its config says: serve, send and check --tls work with only those files.
//
// podman builds images here but cannot run containers (its runtime fails on these machines' cgroups),
// so this exports the built image's file system and runs it the way a runtime would: a private mount
// namespace with /proc and /dev mounted, chroot into the files, the image's user, env and entrypoint.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  appendFileSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { assembleRootfs, type Arch } from "../../scripts/container/rootfs.ts";
import { requireTool } from "../support/peers.ts";
import { targetRelease } from "../support/release.ts";
import { run, startServer, type Command, type Server } from "../support/run.ts";

const DOCKERFILE = new URL("../../scripts/container/Dockerfile", import.meta.url).pathname;
let dir: string;

/** Image is a built image: its exported files and what its config says about running it. */
interface Image {
  files: string;
  arch: string;
  user: string;
  env: Record<string, string>;
  entrypoint: string[];
  workdir: string;
}

function podman(...args: string[]): string {
  const r = Bun.spawnSync([requireTool("podman"), ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`podman ${args[0]} failed (${r.exitCode}): ${r.stderr.toString()}`);
  return r.stdout.toString();
}

const TAG = `localhost/upcat-test-${process.pid}`;

/**
 * buildImage runs podman build for arch on the context the release makes (one tree per TARGETARCH) and exports the
 * image's files.
 */
function buildImage(context: string, arch: Arch): Image {
  // --layers=false: no intermediate images are left in podman's store.
  podman(
    "build",
    "--quiet",
    "--layers=false",
    "--platform",
    `linux/${arch}`,
    "-f",
    DOCKERFILE,
    "-t",
    `${TAG}:${arch}`,
    context,
  );
  try {
    const [config] = JSON.parse(podman("image", "inspect", `${TAG}:${arch}`)) as {
      Architecture: string;
      Config: { User: string; Env: string[]; Entrypoint: string[]; WorkingDir: string };
    }[];
    const container = podman("create", `${TAG}:${arch}`).trim();
    const files = join(dir, `image-${arch}`);
    try {
      mkdirSync(files);
      const tar = Bun.spawnSync(["sh", "-c", `${requireTool("podman")} export ${container} | tar -x -C ${files}`]);
      if (tar.exitCode !== 0) throw new Error(`podman export failed: ${tar.stderr.toString()}`);
    } finally {
      podman("rm", container);
    }
    const env = Object.fromEntries(
      config!.Config.Env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );
    return {
      files,
      arch: config!.Architecture,
      user: config!.Config.User,
      env,
      entrypoint: config!.Config.Entrypoint,
      workdir: config!.Config.WorkingDir,
    };
  } finally {
    podman("rmi", `${TAG}:${arch}`);
  }
}

/**
 * inImage is the Command that runs the image's entrypoint in its files, as a runtime would; prefix runs it through
 * another program put there (qemu).
 */
function inImage(image: Image, prefix: string[] = []): Command {
  const tree = image.files;
  // No --fork: sh, chroot and upcat exec one another in one process, so a signal reaches upcat itself.
  const mount = requireTool("mount");
  const chroot = requireTool("chroot");
  const script =
    `${mount} -t proc proc "$0/proc" && ${mount} --rbind /dev "$0/dev" && ` +
    `exec ${chroot} --userspec=${image.user} "$0" "$@"`;
  return {
    argv: [requireTool("unshare"), "--mount", "/bin/sh", "-c", script, tree, ...prefix, ...image.entrypoint],
    // The image's environment only: a runtime passes nothing of the host's.
    env: { ...image.env, HOME: image.workdir },
  };
}

/** tlsServer listens with a certificate from a CA made for this run, and returns the port and the CA. */
function tlsServer(): { port: number; ca: string; stop: () => void } {
  const openssl = requireTool("openssl");
  const sh = (args: string[]) => {
    const r = Bun.spawnSync([openssl, ...args], { cwd: dir, stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr.toString()}`);
  };
  sh([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=upcat container test CA",
  ]);
  sh(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1"]);
  writeFileSync(join(dir, "ext"), "subjectAltName=IP:127.0.0.1\n");
  sh([
    "x509",
    "-req",
    "-in",
    "srv.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "srv.pem",
    "-days",
    "2",
    "-extfile",
    "ext",
  ]);
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

/** context assembles the build context the release writes to dist/container: one tree per CPU. */
async function context(): Promise<{ dir: string; files: Record<Arch, string[]> }> {
  const ctx = join(dir, "context");
  const files = {
    amd64: assembleRootfs(await targetRelease("linux-x64-baseline"), "amd64", join(ctx, "amd64")),
    arm64: assembleRootfs(await targetRelease("linux-arm64"), "arm64", join(ctx, "arm64")),
  };
  return { dir: ctx, files };
}

/** listFiles is every regular file under root, as absolute paths inside it. */
function listFiles(root: string, rel = ""): string[] {
  return readdirSync(join(root, rel)).flatMap((name) => {
    const st = lstatSync(join(root, rel, name));
    return st.isDirectory() ? listFiles(root, `${rel}/${name}`) : [`${rel}/${name}`];
  });
}

let ctx: Awaited<ReturnType<typeof context>>;

beforeAll(async () => {
  ctx = await context();
}, 180_000);

test("the Dockerfile starts FROM scratch: nothing is in the image but the tree", () => {
  expect(readFileSync(DOCKERFILE, "utf8")).toMatch(/^FROM scratch$/m);
});

describe("amd64: the image podman builds from upcat-linux-x64-baseline's tree", () => {
  let image: Image;
  let server: Server;

  beforeAll(async () => {
    image = buildImage(ctx.dir, "amd64");
    server = await startServer(inImage(image), ["--host", "127.0.0.1", "--port", "0"], { timeoutMs: 60_000 });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
  });

  test("its config: linux/amd64, user 65532, upcat the entrypoint, the CA bundle named", () => {
    expect(image.arch).toBe("amd64");
    expect(image.user).toBe("65532:65532");
    expect(image.entrypoint).toEqual(["/usr/local/bin/upcat"]);
    expect(image.env.SSL_CERT_FILE).toBe("/etc/ssl/certs/ca-certificates.crt");
  });

  test(
    "its files are the tree's: upcat, glibc's loader and libraries, the CA bundle, passwd and group, nothing " + "else",
    () => {
      expect(listFiles(image.files).sort()).toEqual([...new Set(ctx.files.amd64)].sort());
      expect(statSync(join(image.files, "usr/local/bin/upcat")).mode & 0o7777).toBe(0o755);
      expect(statSync(join(image.files, "tmp")).mode & 0o7777).toBe(0o1777);
    },
  );

  test("upcat --version runs as user 65532", async () => {
    const r = await run(inImage(image), ["--version"], { timeoutMs: 60_000 });
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(r.stdout).toStartWith(`upcat ${pkg.version} (`);
  });

  test.each(["tcp", "udp"])("serve in the image answers send over %s from the image", async (transport) => {
    const r = await run(
      inImage(image),
      ["send", "--timeout", "10s", `${transport}://127.0.0.1:${server.port}`, "from the image"],
      { timeoutMs: 60_000 },
    );
    expect(r).toMatchObject({ status: 0, stdout: "FROM THE IMAGE\n", stderr: "" });
  });

  test("check --tls verifies against the image's CA bundle: refused without the CA in it, open with it", async () => {
    const tls = tlsServer();
    try {
      const target = `127.0.0.1:${tls.port}`;
      const without = await run(inImage(image), ["check", "--tls", target], { timeoutMs: 60_000 });
      expect(without.status).toBe(1);
      expect(without.stdout).toContain("certificate not trusted");
      // As if the CA were one of the bundle's (this run's exported copy of the image is changed, nothing else).
      appendFileSync(join(image.files, "etc/ssl/certs/ca-certificates.crt"), `\n${tls.ca}`);
      const trusted = await run(inImage(image), ["check", "--tls", target], { timeoutMs: 60_000 });
      expect(trusted.stdout).toMatch(/^open +tcp:\/\/127\.0\.0\.1:\d+ .* tls TLSv1\.3 CN=127\.0\.0\.1/);
      expect(trusted.status).toBe(0);
    } finally {
      tls.stop();
    }
  }, 120_000);
});

test("arm64: the image podman builds from upcat-linux-arm64's tree runs --version and a send under qemu, " +
  "chrooted", async () => {
  const image = buildImage(ctx.dir, "arm64");
  expect(image.arch).toBe("arm64");
  expect(listFiles(image.files).sort()).toEqual([...new Set(ctx.files.arm64)].sort());
  // qemu-user is static: copied in, it needs nothing from the image but the arm64 files it runs.
  copyFileSync(requireTool("qemu-aarch64-static"), join(image.files, "qemu"));
  const version = await run(inImage(image, ["/qemu"]), ["--version"], { timeoutMs: 60_000 });
  expect(version).toMatchObject({ status: 0, stderr: "" });
  expect(version.stdout).toStartWith(`upcat ${pkg.version} (`);
  const s = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(sock, data, port, addr) {
        sock.send(data.toString().toUpperCase(), port, addr);
      },
    },
  });
  try {
    const r = await run(
      inImage(image, ["/qemu"]),
      ["send", "--timeout", "10s", `udp://127.0.0.1:${s.port}`, "arm64 image"],
      { timeoutMs: 60_000 },
    );
    expect(r).toMatchObject({ status: 0, stdout: "ARM64 IMAGE\n", stderr: "" });
  } finally {
    s.close();
  }
}, 180_000);
