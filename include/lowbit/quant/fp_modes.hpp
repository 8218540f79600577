// MLX mxfp4 / mxfp8 / nvfp4 quantization, exactly as MLX's CPU backend (the
// op-graph `fp_quantize`, mlx/ops.cpp; research/mlx.md §2) computes it. The
// graph runs in the weight dtype T, so every step below is rounded to T where
// MLX's type promotion keeps T, and stays float where it promotes to float32:
//  mx (group 32): s = amax / maxval (T); e = rint(log2(s)) (log2 in T, 0 if s == 0);
//                 w' = w / 2^e (T); scale byte = e + 127.
//  nv (group 16): enc = 2688 / global_scale (f32, 1 without); scale byte =
//                 to_fp8(s * enc) (f32); w' = (w / from_fp8(byte)) (T) * enc (f32).
//  fp4 code = argmin_k |w' - lut[k]| over the 16 E2M1 values in T (mx) or f32 (nv),
//             first index winning ties (so 0.25 -> 0, 0.75 -> 0.5, -0.1 -> +0).
//  fp8 code = to_fp8(w') (RNE, saturating).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "lowbit/core/error.hpp"
#include "lowbit/core/minifloat.hpp"
#include "lowbit/core/rounding.hpp"
#include "lowbit/format/bitstream.hpp"
#include "lowbit/format/quant_format.hpp"

namespace lowbit::detail {

/// argmin_k |v - lut[k]| with |.| rounded to R's precision; first index wins
/// ties, and a NaN distance (0/0 in an all-zero nv group) never wins (code 0).
template <class R>
std::uint8_t nearest_fp4(float v) noexcept {
  std::uint8_t best = 0;
  float best_d = std::abs(round_to<R>(v - fp4_e2m1_values[0]));
  for (std::uint8_t k = 1; k < 16; ++k) {
    const float d = std::abs(round_to<R>(v - fp4_e2m1_values[k]));
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best;
}

/// Quantizes one row (cols a multiple of the group) in an fp mode.
template <class T>
void quantize_fp_row(const quant_format& f, const T* w, std::size_t row, std::size_t cols, float global_scale,
                     std::uint32_t* packed_row, std::uint8_t* scales, std::uint8_t* codes) {
  const auto g = static_cast<std::size_t>(f.group_size);
  const float maxval = f.bits == 4 ? 6.0f : 448.0f;
  const float enc = global_scale != 0.0f ? (448.0f * 6.0f) / global_scale : 1.0f;
  for (std::size_t base = 0, gi = 0; base < cols; base += g, ++gi) {
    float amax = 0.0f;
    for (std::size_t j = 0; j < g; ++j) {
      const float v = to_float(w[base + j]);
      if (!std::isfinite(v)) fail("quantize: non-finite weight {} at row {}, col {}", v, row, base + j);
      amax = std::max(amax, std::abs(v));
    }
    const float s = round_to<T>(amax / round_to<T>(maxval));
    if (f.mode == quant_mode::nvfp4) {
      const std::uint8_t byte = float_to_fp8_e4m3(s * enc);
      scales[gi] = byte;
      const float sc = fp8_e4m3_to_float(byte);
      // A scale that underflows to 0 makes MLX divide by zero; every distance
      // is then NaN or inf and argmin keeps code 0. Say so without the division.
      for (std::size_t j = 0; j < g; ++j) {
        codes[base + j] =
            sc == 0.0f ? std::uint8_t{0} : nearest_fp4<float>(round_to<T>(to_float(w[base + j]) / sc) * enc);
      }
    } else {
      const float e = s == 0.0f ? 0.0f : std::rint(round_to<T>(std::log2(s)));
      scales[gi] = static_cast<std::uint8_t>(static_cast<int>(e) + 127);
      const float p = round_to<T>(std::exp2(e));
      for (std::size_t j = 0; j < g; ++j) {
        const float wp = round_to<T>(to_float(w[base + j]) / p);
        codes[base + j] = f.bits == 4 ? nearest_fp4<T>(wp) : float_to_fp8_e4m3(wp);
      }
    }
  }
  pack_codes(codes, cols, f.bits, packed_row);
}

}  // namespace lowbit::detail
