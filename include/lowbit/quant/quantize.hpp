// lowbit::quantize — MLX-exact quantization of row-major weights into the
// packed / scales / biases layout of DESIGN.md §2 (any number of stacked
// experts: pass rows = experts * out).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/half.hpp"
#include "lowbit/format/quant_format.hpp"
#include "lowbit/quant/affine.hpp"
#include "lowbit/quant/fp_modes.hpp"

namespace lowbit {

/// Quantizes w[rows*cols] (row-major; groups run along cols) in format `f`.
/// Affine: T and S are float, f16 or bf16 and `biases` is required.
/// Fp modes: S = std::uint8_t (E8M0 or E4M3 codes), `biases` must be null,
/// `global_scale` (nvfp4 only; 0 = none) is MLX's optional f32 global scale.
/// `biases` does not take part in deduction, so a literal nullptr works.
/// Output sizes: packed rows*cols*bits/32 words, scales rows*cols/group_size.
/// Throws lowbit::error on an unsupported format, a shape the group does not
/// divide, null pointers, or non-finite weights.
template <class T, class S>
void quantize(const quant_format& f, const T* w, std::size_t rows, std::size_t cols, std::uint32_t* packed,
              S* scales, std::type_identity_t<S>* biases, float global_scale = 0.0f) {
  static_assert(is_float_storage_v<T>, "quantize: weights must be float, f16 or bf16");
  validate(f);
  validate_shape(f, rows, cols, "quantize");
  (void)detail::checked_mul(detail::checked_mul(rows, cols, "quantize"), 8, "quantize");
  if (w == nullptr || packed == nullptr || scales == nullptr)
    detail::fail("quantize: null pointer (w={}, packed={}, scales={})", static_cast<const void*>(w),
                 static_cast<const void*>(packed), static_cast<const void*>(scales));
  const std::size_t wpr = words_per_row(f, cols);
  const std::size_t gpr = groups_per_row(f, cols);
  std::vector<std::uint8_t> codes(cols);
  if constexpr (std::is_same_v<S, std::uint8_t>) {
    if (f.mode == quant_mode::affine)
      detail::fail("quantize: affine mode needs float, f16 or bf16 scales, got u8");
    if (biases != nullptr) detail::fail("quantize: {} mode has no biases, pass nullptr", to_string(f.mode));
    if (global_scale != 0.0f && f.mode != quant_mode::nvfp4)
      detail::fail("quantize: global_scale {} is only meaningful for nvfp4, not {}", global_scale,
                   to_string(f.mode));
    if (!(global_scale >= 0.0f) || global_scale > 3.4e38f)
      detail::fail("quantize: global_scale must be finite and >= 0, got {}", global_scale);
    for (std::size_t r = 0; r < rows; ++r)
      detail::quantize_fp_row(f, w + r * cols, r, cols, global_scale, packed + r * wpr, scales + r * gpr,
                              codes.data());
  } else {
    static_assert(is_float_storage_v<S>,
                  "quantize: scales must be float, f16, bf16 (affine) or std::uint8_t (fp)");
    if (f.mode != quant_mode::affine)
      detail::fail("quantize: {} mode needs std::uint8_t scales, got {}", to_string(f.mode), dtype_name<S>());
    if (biases == nullptr) detail::fail("quantize: affine mode needs biases, got null");
    if (global_scale != 0.0f) detail::fail("quantize: global_scale is only meaningful for nvfp4, not affine");
    for (std::size_t r = 0; r < rows; ++r)
      detail::quantize_affine_row(w + r * cols, r, cols, f.bits, f.group_size, packed + r * wpr,
                                  scales + r * gpr, biases + r * gpr, codes.data());
  }
}

}  // namespace lowbit
