#!/usr/bin/env python3
"""Generates a synthetic MLX 4-bit (affine, group 64, bf16 scales) checkpoint of about SIZE_GB
for benchmarking lowbit-dequant. Stdlib only; random packed words (every uint32 is a valid
4-bit row chunk), small bf16 scales/biases. Shards of 5 GB at most, like mlx-lm.

usage: python3 make_model.py OUT_DIR [SIZE_GB=2]
"""
import json
import os
import struct
import sys

HIDDEN, INTER, BITS, GS = 4096, 14336, 4, 64
SHARD = 5 * 10**9


def bf16_pattern(n, base):
    # n bf16 values cycling through a few small magnitudes (content does not affect speed).
    vals = [struct.pack("<H", (struct.unpack("<I", struct.pack("<f", base * (1 + i / 8)))[0] >> 16)) for i in range(8)]
    block = b"".join(vals)
    return (block * (n // 8 + 1))[: 2 * n]


def linear(name, rows, cols):
    return [(name + ".weight", "U32", [rows, cols * BITS // 32], None),
            (name + ".scales", "BF16", [rows, cols // GS], 0.01),
            (name + ".biases", "BF16", [rows, cols // GS], -0.08)]


def main():
    out = sys.argv[1]
    size = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    per_layer = sum(r * c for r, c in [(HIDDEN, HIDDEN)] * 4 + [(INTER, HIDDEN)] * 3) * (BITS / 8 + 4 / GS)
    layers = max(1, round(size * 1e9 / per_layer))
    tensors = []
    for l in range(layers):
        p = f"model.layers.{l}."
        for n in ["q_proj", "k_proj", "v_proj", "o_proj"]:
            tensors += linear(p + "self_attn." + n, HIDDEN, HIDDEN)
        tensors += linear(p + "mlp.gate_proj", INTER, HIDDEN) + linear(p + "mlp.up_proj", INTER, HIDDEN)
        tensors += linear(p + "mlp.down_proj", HIDDEN, INTER)
        tensors.append((p + "input_layernorm.weight", "BF16", [HIDDEN], 1.0))
    os.makedirs(out, exist_ok=True)
    shards, cur, used = [], [], 0
    for t in tensors:
        n = (4 if t[1] == "U32" else 2) * t[2][0] * (t[2][1] if len(t[2]) > 1 else 1)
        if cur and used + n > SHARD:
            shards.append(cur); cur, used = [], 0
        cur.append((t, n)); used += n
    shards.append(cur)
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        fname = "model.safetensors" if len(shards) == 1 else f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        header, off = {"__metadata__": {"format": "mlx"}}, 0
        for (name, dt, shape, _), n in shard:
            header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + n]}; off += n
            weight_map[name] = fname
        text = json.dumps(header)
        with open(os.path.join(out, fname), "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text.encode())
            for (name, dt, shape, base), n in shard:
                f.write(os.urandom(n) if base is None else bf16_pattern(n // 2, base))
        total += off
    if len(shards) > 1:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, open(os.path.join(out, "model.safetensors.index.json"), "w"))
    json.dump({"model_type": "llama", "hidden_size": HIDDEN, "intermediate_size": INTER, "num_hidden_layers": layers,
               "quantization": {"group_size": GS, "bits": BITS, "mode": "affine"},
               "quantization_config": {"group_size": GS, "bits": BITS, "mode": "affine"}},
              open(os.path.join(out, "config.json"), "w"), indent=2)
    print(f"{out}: {layers} layers, {total / 1e9:.2f} GB in {len(shards)} file(s)")


if __name__ == "__main__":
    main()
