#!/bin/sh
# upcat's installer: picks the release binary for this machine, checks it against SHA256SUMS, installs it.
#
#   curl -fsSL https://github.com/upcat/upcat/releases/latest/download/install.sh | sh
#   curl -fsSL .../install.sh | sh -s v0.1.0        # a given release instead of the latest
#
# Environment:
#   UPCAT_INSTALL   install root; the binary goes to $UPCAT_INSTALL/bin/upcat (default: $HOME/.upcat)
#   UPCAT_BASE_URL  where the assets and SHA256SUMS are
#                   (default: https://github.com/upcat/upcat/releases/latest/download)
#   UPCAT_OS, UPCAT_ARCH, UPCAT_LIBC
#                   use this platform instead of the detected one (linux|darwin|windows, x64|arm64,
#                   glibc|musl): to fetch a binary for another machine, and for the installer's tests
#   UPCAT_BASELINE  1: the x64 build for CPUs without AVX2; 0: the AVX2 build (default: ask the CPU)
#   UPCAT_CPUINFO   the CPU description to read instead of /proc/cpuinfo (for the installer's tests)
set -eu

say() { printf '%s\n' "$*"; }
die() {
	printf 'upcat install: %s\n' "$*" >&2
	exit 1
}
has() { command -v "$1" >/dev/null 2>&1; }

# --- Which binary: upcat-<os>-<arch>[-musl][-baseline][.exe], the names scripts/build.ts gives them. ---

os=${UPCAT_OS:-$(uname -s)}
case $os in
Linux | linux) os=linux ;;
Darwin | darwin) os=darwin ;;
MINGW* | MSYS* | CYGWIN* | Windows_NT | windows) os=windows ;;
*) die "unsupported operating system: $os (there are binaries for Linux, macOS and Windows; or build from source with 'bun run build')" ;;
esac

arch=${UPCAT_ARCH:-$(uname -m)}
case $arch in
x86_64 | amd64 | x64) arch=x64 ;;
aarch64 | arm64 | armv8*) arch=arm64 ;;
*) die "unsupported architecture: $arch (there are binaries for x64 and arm64; or build from source with 'bun run build')" ;;
esac

# A shell under Rosetta 2 reports x86_64 on an Apple Silicon Mac: the native binary is the better one.
if [ "$os" = darwin ] && [ "$arch" = x64 ] && [ -z "${UPCAT_ARCH:-}" ] &&
	[ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
	arch=arm64
fi

if [ "$os" = windows ] && [ "$arch" != x64 ]; then
	die "unsupported platform: windows-$arch (there is a binary for windows-x64 only)"
fi

libc=${UPCAT_LIBC:-}
if [ "$os" = linux ] && [ -z "$libc" ]; then
	# musl systems (Alpine) have no glibc, so the glibc binary would not start there. ldd says which
	# C library the system runs on; /lib/ld-musl-* is only a clue, as glibc systems may have musl too.
	case $(ldd --version 2>&1 || true) in
	*GLIBC* | *"GNU libc"* | *"GNU C Library"*) libc=glibc ;;
	*musl*) libc=musl ;;
	*)
		libc=glibc
		for loader in /lib/ld-musl-*; do
			[ -e "$loader" ] && libc=musl
		done
		;;
	esac
fi
case $libc in
"" | glibc | gnu) suffix="" ;;
musl) suffix="-musl" ;;
*) die "unknown C library: $libc (glibc or musl)" ;;
esac
[ "$os" = linux ] || suffix=""

# x64 CPUs before Haswell (2013), and VMs that show a conservative CPU model, lack AVX2: there the
# default x64 build may die with "Illegal instruction", so they get the baseline build. Only a CPU
# description that is there and lacks AVX2 says so; when none can be read, the default build it is.
lacks_avx2() {
	case $os in
	darwin)
		# Every Intel Mac answers machdep.cpu.features; leaf7_features, where AVX2 is, only CPUs that have leaf 7.
		sysctl -n machdep.cpu.features >/dev/null 2>&1 || return 1
		case " $(sysctl -n machdep.cpu.leaf7_features 2>/dev/null || true) " in
		*" AVX2 "*) return 1 ;;
		*) return 0 ;;
		esac
		;;
	*)
		# Linux, and the Windows shells (MSYS, Cygwin), describe the CPU in /proc/cpuinfo.
		cpuinfo=${UPCAT_CPUINFO:-/proc/cpuinfo}
		flags=$(grep -m 1 '^flags' "$cpuinfo" 2>/dev/null) || return 1
		case "$flags " in
		*" avx2 "*) return 1 ;;
		*) return 0 ;;
		esac
		;;
	esac
}

baseline=""
if [ "$arch" = x64 ]; then
	case ${UPCAT_BASELINE:-} in
	1) baseline="-baseline" ;;
	0) ;;
	"") if lacks_avx2; then baseline="-baseline"; fi ;;
	*) die "UPCAT_BASELINE is 1 (the build for CPUs without AVX2) or 0, not $UPCAT_BASELINE" ;;
	esac
fi

exe=""
[ "$os" = windows ] && exe=".exe"
asset="upcat-$os-$arch$suffix$baseline$exe"

# --- Where from and where to. ---

if [ -n "${UPCAT_BASE_URL:-}" ]; then
	base=${UPCAT_BASE_URL%/}
elif [ $# -gt 0 ]; then
	base="https://github.com/upcat/upcat/releases/download/$1"
else
	base="https://github.com/upcat/upcat/releases/latest/download"
fi
install_root=${UPCAT_INSTALL:-$HOME/.upcat}
bin_dir="$install_root/bin"
target="$bin_dir/upcat$exe"

# --- The tools, checked before anything is downloaded. ---

if has curl; then
	download() { curl --fail --silent --show-error --location --output "$2" "$1"; }
elif has wget; then
	download() { wget --quiet --output-document="$2" "$1"; }
else
	die "neither curl nor wget was found: install one of them and run this again"
fi

if has sha256sum; then
	sha256() { sha256sum "$1" | awk '{ print $1 }'; }
elif has shasum; then
	sha256() { shasum -a 256 "$1" | awk '{ print $1 }'; }
else
	die "neither sha256sum nor shasum was found, so the download cannot be verified: install coreutils (sha256sum) or perl (shasum) and run this again"
fi

# --- Download and verify in a private directory; only a verified binary reaches $bin_dir. ---

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t upcat)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "Downloading $asset from $base"
download "$base/$asset" "$tmp/$asset" || die "download failed: $base/$asset (is there a release for $os-$arch$suffix$baseline? check UPCAT_BASE_URL and your network)"
download "$base/SHA256SUMS" "$tmp/SHA256SUMS" || die "download failed: $base/SHA256SUMS (check UPCAT_BASE_URL and your network)"

expected=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/SHA256SUMS")
[ -n "$expected" ] || die "SHA256SUMS from $base has no line for $asset: nothing was installed"
actual=$(sha256 "$tmp/$asset")
if [ "$actual" != "$expected" ]; then
	die "checksum mismatch for $asset: expected $expected, got $actual. The download is corrupt or was tampered with; nothing was installed"
fi

mkdir -p "$bin_dir" || die "cannot create $bin_dir (set UPCAT_INSTALL to a directory you can write)"
# Copy next to the target, then rename: a running upcat or a crash never sees a half-written file.
cp "$tmp/$asset" "$target.new" || die "cannot write $target.new (set UPCAT_INSTALL to a directory you can write)"
chmod 755 "$target.new"
mv -f "$target.new" "$target"

# --- Tell the user what they got and how to run it. ---

if version=$("$target" --version 2>/dev/null); then
	say "Installed $version to $target"
elif [ "$libc" = musl ]; then
	say "Installed $asset to $target, but it did not run: on Alpine it needs 'apk add libstdc++ libgcc'"
else
	say "Installed $asset to $target, but it did not run on this machine (was the platform overridden?)"
fi

if [ "$(command -v upcat 2>/dev/null || true)" = "$target" ]; then
	say "Run 'upcat --help' to get started."
	exit 0
fi

case ${SHELL:-} in
*/zsh) profile="\$HOME/.zshrc" ;;
*/bash) profile="\$HOME/.bashrc" ;;
*/fish) profile="\$HOME/.config/fish/config.fish" ;;
*) profile="\$HOME/.profile" ;;
esac
say ""
say "upcat is not on your PATH yet. Add these lines to $profile (or your shell's startup file):"
case ${SHELL:-} in
*/fish)
	say "  set -gx UPCAT_INSTALL \"$install_root\""
	say "  fish_add_path \"\$UPCAT_INSTALL/bin\""
	;;
*)
	say "  export UPCAT_INSTALL=\"$install_root\""
	say "  export PATH=\"\$UPCAT_INSTALL/bin:\$PATH\""
	;;
esac
say "Then open a new shell and run 'upcat --help'."
