#!/usr/bin/env bash
# scripts/run.sh [ARGS...]: lowbit's main job, from a fresh clone.
# Installs the missing Debian packages, configures and builds a Release tree in
# build/, then runs examples/quickstart with ARGS (see examples/quickstart.cpp:
# quantize a 4096x4096 float matrix, dequantize, qmv, print errors and times).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LOWBIT_BUILD_DIR:-$root/build}
jobs=${LOWBIT_JOBS:-$(nproc 2>/dev/null || echo 2)}

"$root/scripts/deps.sh" core

# Only what the main job needs: no tests or benchmarks (scripts/test.sh builds those).
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DLOWBIT_BUILD_TESTS=OFF -DLOWBIT_BUILD_BENCH=OFF -DLOWBIT_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target quickstart -j "$jobs"

exec "$build/examples/quickstart" "$@"
