// The size arithmetic of ANEMLL's conversion flow (research/lut.md §3.2):
// decoder-layer parameter counts as `calc_chunk_split.py` computes them, and
// its `--chunk auto` rule: the smallest number of balanced chunks whose
// largest chunk satisfies int(fp16_bytes * bits/16 * overhead) <= max MiB.
// The LUT tables themselves are not counted, exactly as ANEMLL does not.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "lowbit/core/error.hpp"

namespace lowbit {

/// The config.json fields ANEMLL's per-layer count reads (head_dim = hidden /
/// heads when the config has none; kv_heads = heads when absent).
struct decoder_layer_dims {
  std::size_t hidden = 0;
  std::size_t intermediate = 0;
  std::size_t heads = 0;
  std::size_t kv_heads = 0;
  std::size_t head_dim = 0;
  bool attention_bias = false;  // qwen2 defaults this to true when the field is absent
  bool mlp_bias = false;
  bool qk_norm = false;            // qwen3, gemma3*: q_norm + k_norm of head_dim each
  bool feedforward_norms = false;  // gemma3*: pre/post feed-forward norms of hidden each
};

/// Parameters of one decoder layer (projections, biases, norms), as
/// `calc_layer_weights` counts them.
inline std::size_t anemll_layer_params(const decoder_layer_dims& d) {
  if (d.hidden == 0 || d.heads == 0 || d.head_dim == 0 || d.kv_heads == 0 || d.intermediate == 0)
    detail::fail(
        "anemll_layer_params: hidden {}, intermediate {}, heads {}, kv_heads {}, head_dim {} must be > 0",
        d.hidden, d.intermediate, d.heads, d.kv_heads, d.head_dim);
  const std::size_t q = d.heads * d.head_dim, kv = d.kv_heads * d.head_dim, h = d.hidden, i = d.intermediate;
  std::size_t p = h * q + h * kv * 2 + q * h;  // q, k, v, o projections
  if (d.attention_bias) p += q + 2 * kv + h;
  if (d.qk_norm) p += 2 * d.head_dim;
  p += 3 * h * i;  // gate, up, down
  if (d.mlp_bias) p += 2 * i + h;
  p += 2 * h;  // input + post-attention norms
  if (d.feedforward_norms) p += 2 * h;
  return p;
}

/// ANEMLL's size ratio of a LUT-n layer to fp16: n/16 for 0 < n < 16, else 1.
constexpr double anemll_lut_ratio(int lut_bits) noexcept {
  return (lut_bits > 0 && lut_bits < 16) ? lut_bits / 16.0 : 1.0;
}

/// fp16 bytes of the largest chunk when `n_layers` layers are split into
/// `chunks` balanced chunks (the first n_layers % chunks get one layer more).
inline std::uint64_t anemll_largest_chunk_fp16_bytes(const std::uint64_t* layer_fp16_bytes,
                                                     std::size_t n_layers, std::size_t chunks) {
  if (chunks == 0 || chunks > n_layers)
    detail::fail("anemll_largest_chunk_fp16_bytes: {} chunks for {} layers", chunks, n_layers);
  const std::size_t base = n_layers / chunks, rem = n_layers % chunks;
  std::uint64_t largest = 0;
  for (std::size_t c = 0, start = 0; c < chunks; ++c) {
    const std::size_t end = start + base + (c < rem ? 1 : 0);
    std::uint64_t sum = 0;
    for (std::size_t l = start; l < end; ++l) sum += layer_fp16_bytes[l];
    largest = std::max(largest, sum);
    start = end;
  }
  return largest;
}

/// The size ANEMLL estimates for that largest chunk: int(fp16 * ratio * overhead).
inline std::uint64_t anemll_chunk_estimate_bytes(std::uint64_t largest_fp16_bytes, int lut_bits,
                                                 double overhead = 1.10) {
  return static_cast<std::uint64_t>(static_cast<double>(largest_fp16_bytes) * anemll_lut_ratio(lut_bits) *
                                    overhead);
}

/// `--chunk auto`: the smallest chunk count whose estimate is <= max_chunk_mb
/// MiB; n_layers when none fits (as `recommend_chunks` returns).
inline std::size_t anemll_chunk_count(const std::uint64_t* layer_fp16_bytes, std::size_t n_layers,
                                      int lut_bits, std::size_t max_chunk_mb = 950, double overhead = 1.10) {
  if (n_layers == 0) detail::fail("anemll_chunk_count: no decoder layers");
  const std::uint64_t limit = static_cast<std::uint64_t>(max_chunk_mb) * 1024u * 1024u;
  for (std::size_t n = 1; n <= n_layers; ++n) {
    const std::uint64_t largest = anemll_largest_chunk_fp16_bytes(layer_fp16_bytes, n_layers, n);
    if (anemll_chunk_estimate_bytes(largest, lut_bits, overhead) <= limit) return n;
  }
  return n_layers;
}

/// Same, for a model whose layers all have the shape `d`.
inline std::size_t anemll_chunk_count(const decoder_layer_dims& d, std::size_t n_layers, int lut_bits,
                                      std::size_t max_chunk_mb = 950, double overhead = 1.10) {
  const std::vector<std::uint64_t> bytes(n_layers, 2u * static_cast<std::uint64_t>(anemll_layer_params(d)));
  return anemll_chunk_count(bytes.data(), n_layers, lut_bits, max_chunk_mb, overhead);
}

}  // namespace lowbit
