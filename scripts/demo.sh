#!/usr/bin/env bash
# Installs what is missing, builds spanstore (Release) and runs the main job: generate realistic
# checkout traces into a store, reopen it, find the slow checkouts, show the planted incident's
# waterfall (a checkout that called a staging payment endpoint), the spans that point at
# staging (a span filter and a structural TraceQL query), the service graph and what the
# propagation doctor finds (the planted gap). SPANSTORE_DEMO_TRACES (default 50000, ~1M spans) sets the size; the store is left in
# ./demo-store for you to explore with build-release/spanctl.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$(pwd)" CCACHE_NOHASHDIR=true
fi
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
cmake --build build-release -j "$(nproc)" --target spanctl

spanctl=build-release/spanctl
db=demo-store
traces=${SPANSTORE_DEMO_TRACES:-50000}
rm -rf "$db"

echo
echo "\$ spanctl gen --db $db --traces $traces --plant-gap"
out=$("$spanctl" gen --db "$db" --traces "$traces" --plant-gap)
echo "$out"
planted=$(echo "$out" | sed -n 's/.*payments.staging.internal): //p')

echo
echo "\$ spanctl search --db $db '{ resource.service.name = \"checkout\" && duration > 4s }' --limit 5"
"$spanctl" search --db "$db" '{ resource.service.name = "checkout" && duration > 4s }' --limit 5

echo
echo "\$ spanctl trace --db $db $planted"
"$spanctl" trace --db "$db" "$planted" --no-color

echo
echo "\$ spanctl query --db $db '{ span.http.host =~ \".*staging.*\" }'"
"$spanctl" query --db "$db" '{ span.http.host =~ ".*staging.*" }'

echo
echo "\$ spanctl search --db $db '{ resource.service.name = \"checkout\" } >> { span.http.host =~ \".*staging.*\" }' --limit 5"
"$spanctl" search --db "$db" '{ resource.service.name = "checkout" } >> { span.http.host =~ ".*staging.*" }' --limit 5

echo
echo "\$ spanctl graph --db $db"
"$spanctl" graph --db "$db"

echo
echo "\$ spanctl doctor --db $db"
"$spanctl" doctor --db "$db"

echo
echo "\$ spanctl stats --db $db --top 5"
"$spanctl" stats --db "$db" --top 5

echo
echo "\$ spanctl verify --db $db"
"$spanctl" verify --db "$db"
