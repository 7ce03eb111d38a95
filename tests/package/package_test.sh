#!/usr/bin/env bash
# The package test: installs an already-built spanstore into a scratch prefix, then builds the
# consumer in tests/package/consumer/ against that prefix the way an embedder would, and runs
# it (it opens a store, appends, reads the trace back and searches; non-zero on any mismatch):
#
#   package_test.sh cmake        find_package(spanstore <version>) and spanstore::spanstore
#   package_test.sh pkg-config   $(pkg-config --cflags --libs spanstore), --static for a
#                                static libspanstore.a
#   package_test.sh symbols      the library exports the public API and no internals
#
# The consumer compiles with -Wall -Wextra -Werror. tests/CMakeLists.txt runs it and sets:
#   SPANSTORE_BUILD_DIR   the build tree to install        SPANSTORE_VERSION   its version
#   SPANSTORE_WORK_DIR    scratch directory, emptied first (kept afterwards for a look)
#   CMAKE_COMMAND, CMAKE_GENERATOR, CMAKE_BUILD_TYPE, CXX, CXX_LAUNCHER (ccache, or empty)
#   CONSUMER_FLAGS        compile and link flags a program linking this build needs
#                         (-fsanitize=... in sanitizer builds)
set -euo pipefail

mode=${1:?usage: package_test.sh cmake|pkg-config|symbols}
here=$(cd "$(dirname "$0")" && pwd)
work=${SPANSTORE_WORK_DIR:?}
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"

step() { echo "--- package_test ($mode): $*"; }

step "install $SPANSTORE_BUILD_DIR into $prefix"
"$CMAKE_COMMAND" --install "$SPANSTORE_BUILD_DIR" --prefix "$prefix" >"$work/install.log"

launcher=()
if [ -n "${CXX_LAUNCHER:-}" ]; then launcher=("$CXX_LAUNCHER"); fi
read -r -a extra_flags <<<"${CONSUMER_FLAGS:-}"

case $mode in
  cmake)
    step "configure and build tests/package/consumer:" \
         "find_package(spanstore $SPANSTORE_VERSION)"
    args=(-S "$here/consumer" -B "$work/build" -G "$CMAKE_GENERATOR"
          -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
          -DSPANSTORE_REQUIRED_VERSION="$SPANSTORE_VERSION"
          -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-}" -DCMAKE_CXX_COMPILER="$CXX"
          -DCMAKE_CXX_FLAGS="${CONSUMER_FLAGS:-}" -DCMAKE_EXE_LINKER_FLAGS="${CONSUMER_FLAGS:-}")
    if [ -n "${CXX_LAUNCHER:-}" ]; then args+=(-DCMAKE_CXX_COMPILER_LAUNCHER="$CXX_LAUNCHER"); fi
    "$CMAKE_COMMAND" "${args[@]}"
    # find_package must have taken the package just installed, not one found elsewhere.
    found=$(sed -n 's/^spanstore_DIR:PATH=//p' "$work/build/CMakeCache.txt")
    case $found in
      "$prefix"/*) ;;
      *) echo "package_test: find_package took spanstore from '$found', not $prefix" >&2; exit 1 ;;
    esac
    "$CMAKE_COMMAND" --build "$work/build" --verbose
    program=$work/build/embed_example
    ;;
  pkg-config)
    pc=$(find "$prefix" -name spanstore.pc)
    [ -n "$pc" ] || { echo "package_test: no spanstore.pc under $prefix" >&2; exit 1; }
    PKG_CONFIG_PATH=$(dirname "$pc")
    export PKG_CONFIG_PATH
    libdir=$(pkg-config --variable=libdir spanstore)
    static=()
    if [ ! -e "$libdir/libspanstore.so" ]; then static=(--static); fi
    step "build embed_example.cc with pkg-config ${static[*]} (PKG_CONFIG_PATH=$PKG_CONFIG_PATH)"
    read -r -a cflags <<<"$(pkg-config --cflags spanstore)"
    read -r -a libs <<<"$(pkg-config --libs "${static[@]}" spanstore)"
    program=$work/embed_example
    # pkg-config cannot carry a language standard; spanstore.pc's description asks for C++20.
    cmd=("${launcher[@]}" "$CXX" -std=c++20 -Wall -Wextra -Werror "${extra_flags[@]}"
         "${cflags[@]}" "$here/consumer/embed_example.cc" -o "$program" "${libs[@]}")
    echo "${cmd[*]}"
    "${cmd[@]}"
    # A shared libspanstore.so in a prefix the dynamic loader does not search.
    export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    ;;
  symbols)
    # What the installed library exports: every free function the public headers mark
    # SPANSTORE_EXPORT, and under spanstore:: nothing they do not mark (BlockReader, the WAL,
    # the indexes stay hidden). For libspanstore.so its dynamic symbol table; for libspanstore.a
    # the global symbols of default visibility, what a shared object linking it would export.
    # (Instantiations of std templates over public types, std::vector<spanstore::Span>::..., are
    # exported as weak symbols by any C++ library; they are not spanstore:: names.)
    lib=$(find "$prefix" -name libspanstore.so -o -name libspanstore.a | head -1)
    step "symbols exported by $lib"
    if [[ $lib == *.so ]]; then
      nm -D --defined-only "$lib" | awk '{print $3}'
    else
      readelf -sW "$lib" | awk '($4 == "FUNC" || $4 == "OBJECT") && $5 != "LOCAL" &&
                                $6 == "DEFAULT" && $7 != "UND" {print $8}'
    fi | c++filt | sort -u >"$work/exported.txt"
    headers=$(find "$prefix" -path '*/include/spanstore/*.h')
    sed -E 's/^(typeinfo name for|typeinfo for|vtable for|VTT for|guard variable for) //' \
        "$work/exported.txt" | grep '^spanstore::' |
      sed -E 's/^spanstore::(operator==|[A-Za-z_][A-Za-z0-9_]*).*/\1/' | sort -u >"$work/names.txt"
    problems=0
    while read -r name; do
      # shellcheck disable=SC2086
      if ! grep -qE "(class|struct) SPANSTORE_EXPORT $name\b|SPANSTORE_EXPORT [^(]*[ *&]$name\(" \
          $headers; then
        echo "package_test: exports spanstore::$name, which include/spanstore/ does not mark" \
             "SPANSTORE_EXPORT:" >&2
        grep -E "^(.* for )?spanstore::$name\b" "$work/exported.txt" | head -3 >&2
        problems=$((problems + 1))
      fi
    done <"$work/names.txt"
    # shellcheck disable=SC2086
    grep -hoE 'SPANSTORE_EXPORT [^(]*[ *&](operator==|[A-Za-z_][A-Za-z0-9_]*)\(' $headers |
      sed -E 's/.*[ *&]([^ *&]+)\($/\1/' | sort -u >"$work/functions.txt"
    while read -r fn; do
      # Demangled, e.g. "spanstore::BlockColumnNames[abi:cxx11]()".
      if ! grep -qE "^spanstore::$fn(\[abi:[a-z0-9]+\])?\(" "$work/exported.txt"; then
        echo "package_test: spanstore::$fn is declared SPANSTORE_EXPORT but not exported" >&2
        problems=$((problems + 1))
      fi
    done <"$work/functions.txt"
    # And nothing public left unmarked: a class or struct defined, or a function declared, at
    # namespace scope (column 0 in these headers) without SPANSTORE_EXPORT would be hidden.
    # shellcheck disable=SC2086
    if grep -nE '^(class|struct) [A-Za-z_][A-Za-z0-9_]* *(final *)?[:{]' $headers ||
       grep -nE '^[A-Za-z_][^;{(]*[ *&]~?[A-Za-z_][A-Za-z0-9_:]*\(' $headers |
         grep -vE ':(SPANSTORE_EXPORT|inline|template|constexpr|static_assert)\b' |
         grep -vE ':(namespace|using|typedef|class|struct|enum)\b'
    then
      echo "package_test: the declarations above lack SPANSTORE_EXPORT" \
           "(include/spanstore/export.h)" >&2
      problems=$((problems + 1))
    fi
    [ "$problems" -eq 0 ] || exit 1
    step "$(wc -l <"$work/names.txt") spanstore:: names exported, all public; all" \
         "$(wc -l <"$work/functions.txt") public functions exported; ok"
    exit 0
    ;;
  *)
    echo "usage: package_test.sh cmake|pkg-config|symbols" >&2
    exit 2
    ;;
esac

# A shared build's program must load the installed libspanstore.so, not the build tree's.
if ldd "$program" | grep -q 'libspanstore\.so'; then
  loaded=$(ldd "$program" | awk '/libspanstore\.so/ {print $3}')
  case $loaded in
    "$prefix"/*) ;;
    *) echo "package_test: $program loads libspanstore from '$loaded', not $prefix" >&2; exit 1 ;;
  esac
fi

step "run $program $work/store"
"$program" "$work/store"
step "ok"
