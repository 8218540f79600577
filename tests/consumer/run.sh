#!/usr/bin/env bash
# tests/consumer/run.sh [WORK_DIR]: checks that lowbit can be consumed the three
# documented ways, each compiling and running tests/consumer/consumer.cpp:
#   1. find_package(lowbit CONFIG) after `cmake --install` into a temporary prefix
#   2. add_subdirectory(lowbit) (and that lowbit builds/installs nothing then)
#   3. pkg-config --cflags/--libs lowbit, compiled by hand
# Exits non-zero, naming the failed step, on the first failure. WORK_DIR (default:
# a fresh temporary directory, removed afterwards) holds the build trees.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$root/tests/consumer"
jobs=$(nproc 2>/dev/null || echo 2)
cxx=${CXX:-c++}

if [[ $# -ge 1 ]]; then
  work=$1
  rm -rf "$work" && mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/lowbit-consumer.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
work=$(cd "$work" && pwd)
prefix="$work/prefix"

step="setup"
trap 'echo "consumer tests: FAILED in step: $step" >&2' ERR
section() {
  step=$1
  echo "== consumer: $step"
}

section "install lowbit into $prefix"
cmake -S "$root" -B "$work/lowbit-build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DLOWBIT_BUILD_TESTS=OFF -DLOWBIT_BUILD_BENCH=OFF -DLOWBIT_BUILD_EXAMPLES=OFF >"$work/install.log"
cmake --install "$work/lowbit-build" >>"$work/install.log"
for f in include/lowbit/lowbit.hpp share/cmake/lowbit/lowbitConfig.cmake \
  share/cmake/lowbit/lowbitConfigVersion.cmake share/cmake/lowbit/lowbitTargets.cmake share/pkgconfig/lowbit.pc; do
  [[ -f "$prefix/$f" ]] || { echo "not installed: $f" >&2; false; }
done
# Header-only: nothing architecture-dependent may be installed.
for d in bin lib lib64; do
  [[ ! -e "$prefix/$d" ]] || { echo "header-only install has $d/: $(ls "$prefix/$d")" >&2; false; }
done

# The two CMake consumers build at -O0: they check the build-system integration, which the
# optimizer does not touch, and compiling the dispatched kernels at -O3 took ~3 min each on CI's
# 2 cores. The pkg-config consumer below keeps -O2 -Werror (warnings only the optimizer finds).
noopt=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0)

section "find_package(lowbit CONFIG)"
# The source tree must not be visible: only the installed headers.
cmake -S "$here/find_package" -B "$work/find_package" "${noopt[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON >"$work/find_package.log"
cmake --build "$work/find_package" -j "$jobs" >>"$work/find_package.log" || { cat "$work/find_package.log"; false; }
if grep -q -- "$root/include" "$work/find_package/CMakeFiles/consumer.dir/flags.make"; then
  echo "find_package consumer compiled against the source tree, not the install" >&2
  false
fi
"$work/find_package/consumer"

section "add_subdirectory(lowbit)"
cmake -S "$here/add_subdirectory" -B "$work/add_subdirectory" "${noopt[@]}" \
  -DLOWBIT_SOURCE_DIR="$root" >"$work/add_subdirectory.log" || { cat "$work/add_subdirectory.log"; false; }
cmake --build "$work/add_subdirectory" -j "$jobs" >>"$work/add_subdirectory.log" ||
  { cat "$work/add_subdirectory.log"; false; }
"$work/add_subdirectory/consumer"

section "pkg-config lowbit"
export PKG_CONFIG_PATH="$prefix/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pkg-config --exists --print-errors "lowbit >= 0.1"
cflags=$(pkg-config --cflags lowbit)
libs=$(pkg-config --libs lowbit)
echo "   cflags: $cflags"
echo "   libs:   $libs"
[[ "$cflags" == *"-I$prefix/include"* ]] || { echo "pkg-config --cflags lacks -I$prefix/include" >&2; false; }
# shellcheck disable=SC2086  # the flags are meant to split
"$cxx" -std=c++20 -O2 -Wall -Wextra -Wpedantic -Werror $cflags "$here/consumer.cpp" $libs -o "$work/pkgconfig-consumer"
"$work/pkgconfig-consumer"

step="done"
echo "consumer tests: all 3 passed"
