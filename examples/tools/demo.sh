#!/usr/bin/env bash
# The main job in one go, on the bundled sample (a tiny Qwen3-MoE-shaped model):
# quantize to MLX 4-bit with a mixed-precision override, inspect, dequantize back to f16,
# and print the per-tensor error against the original.
#   examples/tools/demo.sh [BIN_DIR] [WORK_DIR]      (BIN_DIR: where lowbit-* were built)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/examples/tools}
work=${2:-$(mktemp -d)}
sample=$here/../data/sample-hf
mkdir -p "$work" && rm -rf "$work/mlx-4bit" "$work/hf-f16"
set -x
"$bin/lowbit-quantize" "$sample" "$work/mlx-4bit" --bits 4 --group-size 64 --layer '*.v_proj=6' --layer '*.down_proj=8,32'
"$bin/lowbit-inspect" "$work/mlx-4bit"
"$bin/lowbit-dequant" "$work/mlx-4bit" "$work/hf-f16" --dtype f16
"$bin/lowbit-inspect" "$work/hf-f16" --compare "$sample" | sed -n '/^error vs/,$p'
