#!/usr/bin/env bash
# Sets up a fresh Debian or Ubuntu machine for the tests (as root, or with sudo): the OS packages the
# tests talk to or run (.ci/apt-packages: netcat, socat, python3, the real servers...), then the npm
# packages. Run once; after it, `npm test` alone runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
packages=$(grep -v '^#' .ci/apt-packages | tr '\n' ' ')
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null

# upcat's servers never answer a datagram from a service port (README: "A server anyone can reach"), and Jenkins'
# 33848 lies in Linux's ephemeral range. upcat's own clients never send from it; another program's (the textbook's
# Python, nc, socat) is given it now and then (about one socket in 28 000) and gets no reply, and a test would fail
# by chance. Reserved, the kernel never hands it out.
reserved=/proc/sys/net/ipv4/ip_local_reserved_ports
if [ -e "$reserved" ] && ! grep -qw 33848 "$reserved"; then
  current=$(cat "$reserved")
  if echo "${current:+$current,}33848" | $sudo tee "$reserved" >/dev/null 2>&1; then
    echo "setup: reserved UDP/TCP port 33848 from ephemeral use (net.ipv4.ip_local_reserved_ports)"
  fi
fi

npm ci --no-audit --no-fund
