// The public kernel entry points of DESIGN.md §3. They validate their
// arguments (throwing lowbit::error) and run the kernels.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lowbit/kernels/reference.hpp"

namespace lowbit {

/// out[experts*rows*cols] = dequantized W (Out = float, f16 or bf16). Bit-exact
/// with MLX when Out is the scales dtype (affine) or for any Out (fp modes).
template <class S, class Out>
void dequantize(const qmatrix<S>& w, Out* out) {
  reference::dequantize(w, out);
}

/// y[rows] = W x (experts == 1).
template <class S, class X, class Y>
void qmv(const qmatrix<S>& w, const X* x, Y* y) {
  reference::qmv(w, x, y);
}

/// y[m][rows] = x[m][cols] W^T (experts == 1).
template <class S, class X, class Y>
void qmm(const qmatrix<S>& w, const X* x, std::size_t m, Y* y) {
  reference::qmm(w, x, m, y);
}

/// MoE: y[t][j][:] = W[ids[t*top_k + j]] x[t][:], one token at a time.
template <class S, class X, class Y>
void gather_qmv(const qmatrix<S>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y) {
  reference::gather_qmv(w, x, tokens, ids, top_k, y);
}

/// MoE, same result as gather_qmv; groups tokens by expert.
template <class S, class X, class Y>
void gather_qmm(const qmatrix<S>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y) {
  reference::gather_qmm(w, x, tokens, ids, top_k, y);
}

/// FP8 block-scaled checkpoints: out = e4m3(w) * scale_inv[i / block_rows, j / block_cols].
template <class S, class Out>
void dequantize_fp8_block(const std::uint8_t* w_e4m3, const S* scale_inv, std::size_t rows, std::size_t cols,
                          Out* out, std::size_t block_rows = 128, std::size_t block_cols = 128) {
  reference::dequantize_fp8_block(w_e4m3, scale_inv, rows, cols, out, block_rows, block_cols);
}

}  // namespace lowbit
