// Assembles the container image's whole file tree for one CPU: upcat, the C library it loads, CA certificates, a
// non-root user.
//
// The image is FROM scratch plus this tree (scripts/container/Dockerfile), so a test can chroot into
// the very files the image holds and run upcat there: nothing else is in the image to hide a gap.
import { chmodSync, copyFileSync, existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Arch is a container platform's CPU, as Docker's TARGETARCH names it. */
export type Arch = "amd64" | "arm64";

/** TRIPLETS are Debian's multiarch folder names: where its dynamic loader looks for libraries. */
const TRIPLETS: Record<Arch, string> = { amd64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" };

/** SYSROOTS are where the build machine keeps each CPU's glibc: its own, and Debian's libc6-arm64-cross. */
export const SYSROOTS: Record<Arch, string[]> = {
  amd64: ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"],
  arm64: ["/usr/aarch64-linux-gnu/lib", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu"],
};

/** UID is the image's user: distroless's "nonroot", which Kubernetes' runAsNonRoot accepts by number. */
export const UID = 65532;

/** elfNeeds reads the loader (PT_INTERP) and the libraries (DT_NEEDED) a binary asks for, whatever its CPU. */
export function elfNeeds(binary: string): { interp: string; needed: string[] } {
  const r = Bun.spawnSync(["readelf", "--wide", "--program-headers", "--dynamic", binary]);
  if (r.exitCode !== 0) throw new Error(`readelf ${binary} failed: ${r.stderr.toString()} (install binutils)`);
  const text = r.stdout.toString();
  const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(text)?.[1];
  if (!interp) throw new Error(`${binary} names no program interpreter: not a dynamically linked Linux binary`);
  const needed = [...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  return { interp, needed };
}

function find(name: string, dirs: string[]): string {
  for (const dir of dirs) if (existsSync(join(dir, name))) return realpathSync(join(dir, name));
  throw new Error(`${name} is in none of ${dirs.join(", ")} (for arm64: apt-get install libc6-arm64-cross)`);
}

function copy(from: string, root: string, to: string, mode = 0o755): void {
  mkdirSync(join(root, dirname(to)), { recursive: true });
  copyFileSync(from, join(root, to));
  chmodSync(join(root, to), mode);
}

/** assembleRootfs writes the tree for arch into out (emptied first) and returns the files it holds. */
export function assembleRootfs(
  binary: string,
  arch: Arch,
  out: string,
  caBundle = "/etc/ssl/certs/ca-certificates.crt",
): string[] {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  const add = (from: string, to: string, mode?: number) => {
    copy(from, out, to, mode);
    files.push(to);
  };
  add(binary, "/usr/local/bin/upcat");
  const { interp, needed } = elfNeeds(binary);
  const libs = SYSROOTS[arch];
  add(find(interp.split("/").pop()!, libs), interp);
  for (const lib of needed) add(find(lib, libs), `/lib/${TRIPLETS[arch]}/${lib}`);
  add(caBundle, "/etc/ssl/certs/ca-certificates.crt", 0o644);
  writeFileSync(
    join(out, "etc/passwd"),
    `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${UID}:${UID}:nonroot:/home/nonroot:/sbin/nologin\n`,
  );
  writeFileSync(join(out, "etc/group"), `root:x:0:\nnonroot:x:${UID}:\n`);
  files.push("/etc/passwd", "/etc/group");
  // A runtime mounts /proc and /dev over these; /tmp must be writable by anyone, as on any Linux.
  for (const dir of ["proc", "dev", "home/nonroot"]) mkdirSync(join(out, dir), { recursive: true });
  mkdirSync(join(out, "tmp"), { recursive: true });
  chmodSync(join(out, "tmp"), 0o1777);
  return files;
}

// bun scripts/container/rootfs.ts BINARY ARCH OUT: the release workflow rebuilds a tree from a downloaded
// binary, since artifacts lose file modes and empty folders.
if (import.meta.main) {
  const [binary, arch, out] = Bun.argv.slice(2);
  if (!binary || (arch !== "amd64" && arch !== "arm64") || !out) {
    console.error("usage: bun scripts/container/rootfs.ts BINARY amd64|arm64 OUT");
    process.exit(2);
  }
  for (const file of assembleRootfs(binary, arch, out)) console.log(file);
}
