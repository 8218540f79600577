#!/usr/bin/env bash
# Builds and runs lowbit's libFuzzer targets (clang with -fsanitize=fuzzer, ASan, UBSan).
#   fuzz/run.sh [SECONDS_PER_TARGET] [BUILD_DIR]
# CI: the default 20 s per target (2 targets, < 60 s of fuzzing). Long runs: fuzz/run.sh 600.
# Seeds: fuzz/corpus/<target>/ (read only; new inputs go to BUILD_DIR/corpus-<target>).
# Exit code non-zero on any crash, leak, sanitizer report or timeout; reproducers are left in BUILD_DIR.
set -euo pipefail
secs=${1:-20}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${2:-$root/build-fuzz}
cxx=${CXX_FUZZ:-$(command -v clang++-16 || command -v clang++ || command -v clang++-14)}
mkdir -p "$build"
for target in safetensors_header mlx_config; do
  bin=$build/fuzz_$target
  if [[ ! -x $bin || $here/fuzz_$target.cpp -nt $bin || -n $(find "$root/include/lowbit/io" -newer "$bin" -name '*.hpp' | head -1) ]]; then
    "$cxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -I"$root/include" "$here/fuzz_$target.cpp" -lfmt -o "$bin"
  fi
  mkdir -p "$build/corpus-$target"
  dict=$here/${target%_header}.dict
  [[ $target == safetensors_header ]] && dict=$here/safetensors.dict
  echo "== fuzz_$target: ${secs}s"
  (cd "$build" && "$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 -dict="$dict" -print_final_stats=1 \
    "$build/corpus-$target" "$here/corpus/$target" 2>&1 | grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY' || true)
  # libFuzzer's exit code is lost in the pipe above: a crash leaves a crash-/leak-/timeout- file.
  if compgen -G "$build/crash-*" > /dev/null || compgen -G "$build/leak-*" > /dev/null || compgen -G "$build/timeout-*" > /dev/null; then
    echo "fuzz_$target: FAILED, reproducers in $build"; exit 1
  fi
done
echo "fuzz: clean"
