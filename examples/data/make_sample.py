#!/usr/bin/env python3
"""Generates the bundled synthetic sample: a tiny Qwen3-MoE-shaped Hugging Face checkpoint.

2 decoder layers (layer 0 dense MLP, layer 1 an 8-expert MoE block), tied embeddings, bf16
weights in two shards with model.safetensors.index.json, and tokenizer stubs. Deterministic
(splitmix64), stdlib only. Values are random, not a trained model. One norm weight is 70000
(beyond fp16's 65504) so the fp16 preflight of lowbit-inspect has something to report.

usage: python3 make_sample.py [OUT_DIR]   (default: sample-hf next to this script)
"""
import json
import math
import os
import struct
import sys

HIDDEN, HEADS, KV_HEADS, HEAD_DIM = 256, 4, 2, 64
INTER, MOE_INTER, EXPERTS, TOP_K, VOCAB, LAYERS = 512, 128, 8, 2, 2048, 2


class SplitMix64:
    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def uniform(self):  # [0, 1), 24 bits
        return (self.next() >> 40) * (1.0 / (1 << 24))


def bf16_bytes(values):
    out = bytearray()
    for v in values:
        x = struct.unpack("<I", struct.pack("<f", v))[0]
        out += struct.pack("<H", ((x + 0x7FFF + ((x >> 16) & 1)) >> 16) & 0xFFFF)
    return bytes(out)


def weight(seed, rows, cols, scale):
    """Approximately normal (sum of 4 uniforms), std ~ scale, with a few larger outliers per row."""
    rng = SplitMix64(seed)
    vals = []
    for _ in range(rows * cols):
        u = sum(rng.uniform() for _ in range(4)) - 2.0
        vals.append(u * scale * math.sqrt(3.0))
    return vals


def tensors():
    """(name, shape, values) in Hugging Face order."""
    seed = [1000]

    def w(rows, cols, scale=0.02):
        seed[0] += 1
        return weight(seed[0], rows, cols, scale)

    yield "model.embed_tokens.weight", [VOCAB, HIDDEN], w(VOCAB, HIDDEN)
    for l in range(LAYERS):
        p = f"model.layers.{l}."
        yield p + "input_layernorm.weight", [HIDDEN], [1.0 + 0.01 * (i % 7) for i in range(HIDDEN)]
        post = [1.0 - 0.01 * (i % 5) for i in range(HIDDEN)]
        if l == 1:
            post[3] = 70000.0  # fp16 overflow for the preflight
        yield p + "post_attention_layernorm.weight", [HIDDEN], post
        yield p + "self_attn.q_proj.weight", [HEADS * HEAD_DIM, HIDDEN], w(HEADS * HEAD_DIM, HIDDEN)
        yield p + "self_attn.k_proj.weight", [KV_HEADS * HEAD_DIM, HIDDEN], w(KV_HEADS * HEAD_DIM, HIDDEN)
        yield p + "self_attn.v_proj.weight", [KV_HEADS * HEAD_DIM, HIDDEN], w(KV_HEADS * HEAD_DIM, HIDDEN)
        yield p + "self_attn.o_proj.weight", [HIDDEN, HEADS * HEAD_DIM], w(HIDDEN, HEADS * HEAD_DIM)
        yield p + "self_attn.q_norm.weight", [HEAD_DIM], [1.0] * HEAD_DIM
        yield p + "self_attn.k_norm.weight", [HEAD_DIM], [1.0] * HEAD_DIM
        if l == 0:
            yield p + "mlp.gate_proj.weight", [INTER, HIDDEN], w(INTER, HIDDEN)
            yield p + "mlp.up_proj.weight", [INTER, HIDDEN], w(INTER, HIDDEN)
            yield p + "mlp.down_proj.weight", [HIDDEN, INTER], w(HIDDEN, INTER)
        else:
            yield p + "mlp.gate.weight", [EXPERTS, HIDDEN], w(EXPERTS, HIDDEN, 0.1)
            for e in range(EXPERTS):
                q = f"{p}mlp.experts.{e}."
                yield q + "gate_proj.weight", [MOE_INTER, HIDDEN], w(MOE_INTER, HIDDEN)
                yield q + "up_proj.weight", [MOE_INTER, HIDDEN], w(MOE_INTER, HIDDEN)
                yield q + "down_proj.weight", [HIDDEN, MOE_INTER], w(HIDDEN, MOE_INTER)
    yield "model.norm.weight", [HIDDEN], [1.0] * HIDDEN


def write_safetensors(path, items):
    header, data = {"__metadata__": {"format": "pt"}}, bytearray()
    for name, shape, blob in items:
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text.encode() + bytes(data))
    return len(data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample-hf")
    os.makedirs(out, exist_ok=True)
    items = [(n, s, bf16_bytes(v)) for n, s, v in tensors()]
    half = next(i for i, (n, _, _) in enumerate(items) if n.startswith("model.layers.1."))
    shards = [items[:half], items[half:]]
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        total += write_safetensors(os.path.join(out, fname), shard)
        weight_map.update({n: fname for n, _, _ in shard})
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")
    config = {
        "architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "hidden_size": HIDDEN,
        "intermediate_size": INTER, "moe_intermediate_size": MOE_INTER, "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "head_dim": HEAD_DIM,
        "num_experts": EXPERTS, "num_experts_per_tok": TOP_K, "decoder_sparse_step": 1, "mlp_only_layers": [0],
        "norm_topk_prob": True, "vocab_size": VOCAB, "max_position_embeddings": 4096, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "tie_word_embeddings": True, "torch_dtype": "bfloat16", "bos_token_id": 1,
        "eos_token_id": 2, "hidden_act": "silu", "attention_bias": False,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab.update({f"tok{i}": i for i in range(3, VOCAB)})
    tokenizer = {"version": "1.0", "added_tokens": [], "normalizer": None, "pre_tokenizer": {"type": "Whitespace"},
                 "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"}}
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f)
        f.write("\n")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "model_max_length": 4096}, f, indent=2)
        f.write("\n")
    print(f"wrote {out}: {sum(len(s) for s in shards)} tensors, {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
