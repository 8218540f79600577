// The value of one quantized weight, computed the plain way. This is the
// definition the SIMD kernels are tested against (DESIGN.md §2):
//  affine: (q * scale) then (+ bias), each rounded to the scales dtype S (MLX's
//          two separately rounded ops; never fused into an FMA), then converted
//          to Out — exactly MLX's `dequantize(..., dtype=Out)`, which computes in
//          the scales dtype and casts (mlx/ops.cpp `dequantize`: astype(affine_dequantize)).
//  mx:   elem * 2^(s-127), the power rounded to Out first (MLX computes it in Out);
//  nv:   elem * (from_fp8(s) * (global_scale / 2688)) in float (no global: elem * from_fp8(s)),
//        the scale factor formed first, as MLX does; rounded once to Out.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "lowbit/core/minifloat.hpp"
#include "lowbit/core/rounding.hpp"
#include "lowbit/format/bitstream.hpp"
#include "lowbit/format/qmatrix.hpp"

namespace lowbit::reference {

/// Weight (row r, col c) of expert 0 of `w` as an Out-precision float.
template <class Out, class S>
float weight_value(const qmatrix<S>& w, std::size_t r, std::size_t c) noexcept {
  const std::size_t gpr = groups_per_row(w.format, w.cols);
  const std::size_t gi = r * gpr + c / static_cast<std::size_t>(w.format.group_size);
  const std::uint32_t q = extract_code(w.packed + r * words_per_row(w.format, w.cols), c, w.format.bits);
  if constexpr (std::is_same_v<S, std::uint8_t>) {
    const std::uint8_t s = w.scales[gi];
    const float elem = w.format.bits == 4 ? fp4_e2m1_to_float(static_cast<std::uint8_t>(q))
                                          : fp8_e4m3_to_float(static_cast<std::uint8_t>(q));
    float scale = 0.0f;
    if (w.format.mode == quant_mode::nvfp4) {
      scale = fp8_e4m3_to_float(s);
      if (w.global_scale != 0.0f) scale = scale * (w.global_scale / 2688.0f);
    } else {
      scale = detail::round_to<Out>(std::ldexp(1.0f, static_cast<int>(s) - 127));
    }
    return detail::round_to<Out>(elem * scale);
  } else {
    const float scale = to_float(w.scales[gi]);
    const float bias = to_float(w.biases[gi]);
    const auto qf = static_cast<float>(q);
    return detail::round_to<Out>(
        detail::round_to<S>(detail::round_to<S>(detail::no_contract(qf * scale)) + bias));
  }
}

}  // namespace lowbit::reference
