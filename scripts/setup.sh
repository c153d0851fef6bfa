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

npm ci --no-audit --no-fund
