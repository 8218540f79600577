// MLX affine quantization, exactly as MLX's CPU backend computes it
// (mlx/backend/cpu/quantized.cpp `quantize`, research/mlx.md §1.2):
// float32 math per group; the larger-magnitude extreme ("edge") becomes the
// bias and maps to q = 0; the scale is negative when |max| >= |min| and is
// re-derived as edge / rint(edge / scale) so that 0.0 lands (almost) exactly
// on a code; q = clamp(rint((w - bias) / scale), 0, 2^bits - 1) with a true
// division; scale and bias are rounded to S only after q is computed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "lowbit/core/error.hpp"
#include "lowbit/core/half.hpp"
#include "lowbit/format/bitstream.hpp"

namespace lowbit::detail {

/// Quantizes row `row` of `cols` values (cols a multiple of group_size).
/// `codes` is scratch space for `cols` bytes. Non-finite weights have no
/// meaningful affine code (MLX silently produces garbage): they throw.
template <class T, class S>
void quantize_affine_row(const T* w, std::size_t row, std::size_t cols, int bits, int group_size,
                         std::uint32_t* packed_row, S* scales, S* biases, std::uint8_t* codes) {
  const float n_bins = static_cast<float>((1 << bits) - 1);
  const float eps = 1e-7f;
  const auto g = static_cast<std::size_t>(group_size);
  for (std::size_t base = 0, gi = 0; base < cols; base += g, ++gi) {
    float w_min = std::numeric_limits<float>::infinity();
    float w_max = -w_min;
    for (std::size_t j = 0; j < g; ++j) {
      const float v = to_float(w[base + j]);
      if (!std::isfinite(v)) fail("quantize: non-finite weight {} at row {}, col {}", v, row, base + j);
      w_max = std::max(w_max, v);
      w_min = std::min(w_min, v);
    }
    const bool mask = std::abs(w_min) > std::abs(w_max);
    float scale = std::max((w_max - w_min) / n_bins, eps);
    scale = mask ? scale : -scale;
    const float edge = mask ? w_min : w_max;
    const float q0 = std::rint(edge / scale);
    float bias = 0.0f;
    if (q0 != 0.0f) {
      scale = edge / q0;
      bias = edge;
    }
    for (std::size_t j = 0; j < g; ++j) {
      const float q = std::rint((to_float(w[base + j]) - bias) / scale);
      codes[base + j] = static_cast<std::uint8_t>(std::min(std::max(q, 0.0f), n_bins));
    }
    scales[gi] = from_float<S>(scale);
    biases[gi] = from_float<S>(bias);
  }
  pack_codes(codes, cols, bits, packed_row);
}

}  // namespace lowbit::detail
