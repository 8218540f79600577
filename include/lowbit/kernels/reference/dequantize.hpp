// Scalar reference dequantization (MLX formats and FP8 block checkpoints).
#pragma once

#include <cstddef>
#include <cstdint>

#include "lowbit/core/error.hpp"
#include "lowbit/core/half.hpp"
#include "lowbit/core/minifloat.hpp"
#include "lowbit/kernels/reference/element.hpp"

namespace lowbit::reference {

/// out[experts*rows*cols] = the dequantized weights (Out = float, f16 or bf16).
template <class S, class Out>
void dequantize(const qmatrix<S>& w, Out* out) {
  static_assert(is_float_storage_v<Out>, "dequantize: Out must be float, f16 or bf16");
  validate(w, "dequantize");
  if (out == nullptr) detail::fail("dequantize: out is null");
  for (std::size_t e = 0; e < w.experts; ++e) {
    const qmatrix<S> we = expert_view(w, e);
    Out* o = out + e * w.rows * w.cols;
    for (std::size_t r = 0; r < w.rows; ++r)
      for (std::size_t c = 0; c < w.cols; ++c)
        o[r * w.cols + c] = from_float<Out>(weight_value<Out>(we, r, c));
  }
}

/// Checks the arguments of an FP8 block-scaled dequantization.
inline void validate_fp8_block(const void* w, const void* scale_inv, std::size_t rows, std::size_t cols,
                               const void* out, std::size_t block_rows, std::size_t block_cols) {
  if (w == nullptr || scale_inv == nullptr || out == nullptr)
    detail::fail("dequantize_fp8_block: null pointer (weight={}, scale_inv={}, out={})", w, scale_inv, out);
  if (block_rows == 0 || block_cols == 0)
    detail::fail("dequantize_fp8_block: block size must be positive, got [{}, {}]", block_rows, block_cols);
  (void)detail::checked_mul(rows, cols, "dequantize_fp8_block");
}

/// out[i, j] = e4m3(w[i, j]) * scale_inv[i / block_rows, j / block_cols] in float,
/// rounded once to Out; scale_inv is [ceil(rows/block_rows), ceil(cols/block_cols)].
template <class S, class Out>
void dequantize_fp8_block(const std::uint8_t* w_e4m3, const S* scale_inv, std::size_t rows, std::size_t cols,
                          Out* out, std::size_t block_rows = 128, std::size_t block_cols = 128) {
  static_assert(is_float_storage_v<S> && is_float_storage_v<Out>, "dequantize_fp8_block: float, f16 or bf16");
  validate_fp8_block(w_e4m3, scale_inv, rows, cols, out, block_rows, block_cols);
  const std::size_t scale_cols = (cols + block_cols - 1) / block_cols;
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) {
      const float s = to_float(scale_inv[(i / block_rows) * scale_cols + j / block_cols]);
      out[i * cols + j] = from_float<Out>(fp8_e4m3_to_float(w_e4m3[i * cols + j]) * s);
    }
}

}  // namespace lowbit::reference
