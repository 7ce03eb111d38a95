#!/usr/bin/env bash
# Installs the Debian packages spanstore needs to build, test and benchmark. Idempotent: when
# everything is present it only checks (about a second) and touches nothing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build ccache
  liblz4-dev libzstd-dev libxxhash-dev libabsl-dev libre2-dev libsimdjson-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev          # fuzzing and sanitizers
  clang-format git                  # scripts/check_format.sh
  librocksdb-dev libsqlite3-dev     # peer baselines in benchmarks/
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
