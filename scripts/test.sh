#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test of spanstore:
#   0. the format check on the lines this change touches (scripts/check_format.sh);
#   1. Release build (g++, -Werror), the whole CTest suite;
#   2. clang build with AddressSanitizer + UndefinedBehaviorSanitizer (and libFuzzer coverage
#      instrumentation), the whole CTest suite again, then each libFuzzer target for a bounded
#      smoke time, seeded from tests/testdata and fuzz/corpus;
#   3. clang build with ThreadSanitizer, the tests labelled "concurrency".
# Exits non-zero when anything fails. SPANSTORE_FUZZ_SECONDS (default 15) bounds each fuzz run;
# SPANSTORE_SKIP_SANITIZERS=1 runs only step 1 (for a quick local check).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

./scripts/setup.sh || exit 1

jobs=$(nproc)
fuzz_seconds=${SPANSTORE_FUZZ_SECONDS:-15}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
fi

passed=0
failed=0
failures=()
record() {  # record <name> <exit code>
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$1")
  fi
}

# CTest prints "N tests failed out of M"; fold its counts into ours.
run_ctest() {  # run_ctest <build dir> <name> [ctest args...]
  local dir=$1 name=$2
  shift 2
  local log
  log=$(mktemp)
  (cd "$dir" && ctest --output-on-failure -j "$jobs" "$@") 2>&1 | tee "$log"
  local total fails
  total=$(grep -oE 'out of [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  fails=$(grep -oE '[0-9]+ tests failed' "$log" | tail -1 | grep -oE '^[0-9]+')
  if [ -z "$total" ]; then
    echo "test.sh: $name: ctest ran no test" >&2
    record "$name (no tests ran)" 1
  else
    passed=$((passed + total - ${fails:-0}))
    failed=$((failed + ${fails:-0}))
    [ "${fails:-0}" -eq 0 ] || failures+=("$name: ${fails} ctest failures")
  fi
  rm -f "$log"
}

build() {  # build <dir> <cmake args...> -- <targets...>
  local dir=$1
  shift
  local args=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  targets=("$@")
  cmake -S "$root" -B "$dir" -G Ninja "${launcher[@]}" "${args[@]}" >/dev/null || return 1
  if [ ${#targets[@]} -gt 0 ]; then
    cmake --build "$dir" -j "$jobs" --target "${targets[@]}"
  else
    cmake --build "$dir" -j "$jobs"
  fi
}

echo "=== 0/3 Format of the changed lines"
./scripts/check_format.sh
record "format check" $?

echo "=== 1/3 Release build and tests"
if build build-release -DCMAKE_BUILD_TYPE=Release -DSPANSTORE_WERROR=ON; then
  run_ctest build-release release
else
  record "release build" 1
fi

if [ "${SPANSTORE_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "=== 2/3 ASan+UBSan build, tests and fuzz smoke"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  if CC=clang CXX=clang++ build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSPANSTORE_SANITIZE=address,undefined -DSPANSTORE_BUILD_FUZZERS=ON \
      -DSPANSTORE_BUILD_BENCHMARKS=OFF -DSPANSTORE_WERROR=ON; then
    # The crash test forks and kills children; it is exercised in the Release run.
    run_ctest build-asan asan
    for fuzzer in build-asan/fuzz/*_fuzz; do
      [ -x "$fuzzer" ] || continue
      name=$(basename "$fuzzer" _fuzz)
      corpus=$(mktemp -d)
      [ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$corpus/"
      echo "--- fuzz $name for ${fuzz_seconds}s"
      "$fuzzer" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=0 "$corpus" 2>"$corpus.log"
      rc=$?
      if [ $rc -ne 0 ]; then tail -40 "$corpus.log"; fi
      grep -E '^#[0-9]+.*DONE' "$corpus.log" | tail -1
      record "fuzz $name" $rc
      rm -rf "$corpus" "$corpus.log"
    done
  else
    record "asan build" 1
  fi

  echo "=== 3/3 TSan build, concurrency tests"
  concurrency_tests=$(cd tests && ls *_test.cc 2>/dev/null | sed 's/\.cc$//' |
    grep -E 'concurrency|stress' || true)
  if [ -n "$concurrency_tests" ]; then
    # shellcheck disable=SC2086
    if CC=clang CXX=clang++ build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSPANSTORE_SANITIZE=thread -DSPANSTORE_BUILD_BENCHMARKS=OFF -DSPANSTORE_WERROR=ON \
        -- $concurrency_tests; then
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 run_ctest build-tsan tsan -L concurrency
    else
      record "tsan build" 1
    fi
  fi
fi

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "spanstore: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
