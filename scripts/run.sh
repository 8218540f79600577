#!/usr/bin/env bash
# scripts/run.sh [quickstart [ARGS...]]: lowbit's main job, from a fresh clone.
# Installs the missing Debian packages, configures and builds a Release tree in build/, then
#  - by default runs the model tools on the bundled sample (examples/tools/demo.sh): quantize an
#    HF-layout model to MLX 4-bit with mixed-precision overrides, inspect it, dequantize it back
#    to f16 and print the per-tensor error against the original;
#  - `scripts/run.sh quickstart [ROWS COLS FORMAT...]` instead runs examples/quickstart (quantize a
#    matrix, dequantize, qmv; print errors and times).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LOWBIT_BUILD_DIR:-$root/build}
jobs=${LOWBIT_JOBS:-$(nproc 2>/dev/null || echo 2)}

"$root/scripts/deps.sh" core

# Only what the main job needs: no tests or benchmarks (scripts/test.sh builds those).
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DLOWBIT_BUILD_TESTS=OFF -DLOWBIT_BUILD_BENCH=OFF -DLOWBIT_BUILD_EXAMPLES=ON >/dev/null

if [[ "${1:-}" == quickstart ]]; then
  shift
  cmake --build "$build" --target quickstart -j "$jobs"
  exec "$build/examples/quickstart" "$@"
fi
cmake --build "$build" --target lowbit-quantize lowbit-inspect lowbit-dequant -j "$jobs"
exec "$root/examples/tools/demo.sh" "$build/examples/tools" "$build/demo"
