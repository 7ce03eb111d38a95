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
  libtcmalloc-minimal4              # the programs' allocator (CMakeLists.txt: SPANSTORE_WITH_TCMALLOC)
  # spanstored (tools/spanstored): gRPC and protobuf for its gRPC listeners, Boost 1.81 for
  # Beast/Asio (HTTP) and URL. Only 1.81: its -dev package conflicts with the 1.74 ones.
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libboost1.81-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs the OpenTelemetry JS end-to-end test (tests/otel_js); a machine that already has
# a node (e.g. from NodeSource) keeps it.
command -v node >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The OpenTelemetry JS SDK and exporters at the versions tests/otel_js/package-lock.json pins.
# `npm ci` runs only when the lockfile changed since the last install (a stamp records its hash).
js_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/otel_js"
lock_hash=$(sha256sum "$js_dir/package-lock.json" | cut -d' ' -f1)
stamp="$js_dir/node_modules/.spanstore-lock-sha256"
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
  echo "setup: npm ci in tests/otel_js"
  (cd "$js_dir" && npm ci --no-audit --no-fund --loglevel=error) && echo "$lock_hash" > "$stamp"
else
  echo "setup: tests/otel_js dependencies present"
fi
