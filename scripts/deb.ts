// Builds upcat_<version>_<arch>.deb with dpkg-deb: the binary, the man page and the bash, zsh and fish completions.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";

export interface DebInput {
  /** binary is the linux release binary for arch; docs the folder writeDocs filled. */
  binary: string;
  docs: string;
  arch: "amd64" | "arm64";
  version: string;
  outdir: string;
}

/** debName is the file dpkg-deb's convention gives the package. */
export function debName(version: string, arch: string): string {
  return `upcat_${version}_${arch}.deb`;
}

function put(root: string, path: string, data: string | Uint8Array, mode = 0o644): void {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  writeFileSync(file, data);
  chmodSync(file, mode);
}

/** Debian wants gzip -9n: no name and no time in the header, so the same input makes the same bytes. */
function gz(data: Uint8Array | string): Uint8Array {
  const out = gzipSync(data, { level: 9 });
  out[4] = out[5] = out[6] = out[7] = 0;
  return out;
}

/** buildDeb assembles the package tree and returns the path of the .deb. */
export async function buildDeb(d: DebInput): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), "upcat-deb-"));
  try {
    const doc = (name: string) => Bun.file(join(d.docs, name)).bytes();
    mkdirSync(join(root, "usr/bin"), { recursive: true, mode: 0o755 });
    copyFileSync(d.binary, join(root, "usr/bin/upcat"));
    chmodSync(join(root, "usr/bin/upcat"), 0o755);
    put(root, "usr/share/man/man1/upcat.1.gz", gz(await doc("upcat.1")));
    put(root, "usr/share/bash-completion/completions/upcat", await doc("upcat-completion.bash"));
    put(root, "usr/share/zsh/vendor-completions/_upcat", await doc("upcat-completion.zsh"));
    put(root, "usr/share/fish/vendor_completions.d/upcat.fish", await doc("upcat-completion.fish"));
    put(root, "usr/share/doc/upcat/copyright", COPYRIGHT);
    put(
      root,
      "usr/share/doc/upcat/changelog.gz",
      gz(
        `upcat (${d.version}) unstable; urgency=medium\n\n  * Release ${d.version}: see ` +
          `https://github.com/upcat/upcat/releases/tag/v${d.version}\n\n` +
          " -- upcat maintainers <maintainers@users.noreply.github.com>  Sat, 28 Nov 2026 00:00:00 +0000\n",
      ),
    );
    // A Bun executable carries its program after the ELF sections: stripping it would cut the program off.
    put(root, "usr/share/lintian/overrides/upcat", OVERRIDES);
    const size = Number(Bun.spawnSync(["du", "-sk", "--exclude=DEBIAN", root]).stdout.toString().split("\t")[0]);
    put(root, "DEBIAN/control", control(d, size));
    mkdirSync(d.outdir, { recursive: true });
    const out = join(d.outdir, debName(d.version, d.arch));
    // gzip, not dpkg-deb's default xz: xz takes over a minute on a 110 MB binary, gzip a few seconds, for a few MB
    // more.
    const r = Bun.spawnSync(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, out], {
      stderr: "pipe",
      stdout: "pipe",
    });
    if (r.exitCode !== 0) throw new Error(`dpkg-deb failed (${r.exitCode}): ${r.stderr.toString()}`);
    return out;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function control(d: DebInput, installedKiB: number): string {
  return [
    "Package: upcat",
    `Version: ${d.version}`,
    `Architecture: ${d.arch}`,
    "Maintainer: upcat maintainers <maintainers@users.noreply.github.com>",
    `Installed-Size: ${installedKiB}`,
    "Depends: libc6 (>= 2.27)",
    "Section: net",
    "Priority: optional",
    "Homepage: https://github.com/upcat/upcat",
    "Description: netcat-style servers, clients and reachability checks",
    " upcat serves the uppercase protocol and the RFC simple services (echo,",
    " discard, chargen, qotd, daytime, time) over TCP and UDP, checks that",
    " targets are reachable and answer as expected (for runbooks, Nagios and",
    " Prometheus), relays with faults on purpose, and measures servers under load.",
    "",
  ].join("\n");
}

const COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: upcat
Source: https://github.com/upcat/upcat

Files: *
Copyright: 2026 upcat maintainers
License: UNLICENSED
 No licence has been chosen for upcat yet: all rights are reserved by its authors.
`;

// Each override is a property of every Bun executable, not a packaging mistake.
const OVERRIDES = `# Bun appends the program to the ELF file: strip would remove it.
upcat: unstripped-binary-or-object [usr/bin/upcat]
# Bun links its runtime statically except for glibc itself.
upcat: embedded-library *
# The executable is Bun's runtime as Bun's own build links it; no compiler flag of ours reaches it.
upcat: hardening-no-pie [usr/bin/upcat]
upcat: hardening-no-relro [usr/bin/upcat]
`;
