// Scalar reference matmuls over quantized weights: dequantize a row to float
// (reference::weight_value<float>), accumulate in double. Simple on purpose:
// it is the yardstick for the SIMD kernels (DESIGN.md §3 tolerance: relative
// 1e-5 of sum |w*x|), not a fast path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/half.hpp"
#include "lowbit/kernels/reference/element.hpp"

namespace lowbit {

/// Checks the routing of a gather (MoE) matmul: every id < experts.
template <class S>
void validate_expert_ids(const qmatrix<S>& w, const std::uint32_t* ids, std::size_t tokens, std::size_t top_k,
                         const char* who) {
  const std::size_t n = detail::checked_mul(tokens, top_k, who);
  if (n != 0 && ids == nullptr) detail::fail("{}: ids is null", who);
  for (std::size_t i = 0; i < n; ++i)
    if (ids[i] >= w.experts)
      detail::fail("{}: expert id {} at token {}, slot {} is out of range (experts = {})", who, ids[i],
                   i / top_k, i % top_k, w.experts);
}

namespace reference {

namespace impl {
template <class S, class X, class Y>
void matmul_rows(const qmatrix<S>& w, const X* x, std::size_t m, Y* y, std::size_t y_stride) {
  std::vector<float> row(w.cols);
  for (std::size_t r = 0; r < w.rows; ++r) {
    for (std::size_t c = 0; c < w.cols; ++c) row[c] = weight_value<float>(w, r, c);
    for (std::size_t t = 0; t < m; ++t) {
      double acc = 0.0;
      for (std::size_t c = 0; c < w.cols; ++c)
        acc += static_cast<double>(row[c]) * static_cast<double>(to_float(x[t * w.cols + c]));
      y[t * y_stride + r] = from_float<Y>(static_cast<float>(acc));
    }
  }
}

template <class X, class Y>
void check_matmul_io(const X* x, const Y* y, const char* who) {
  static_assert(is_float_storage_v<X> && is_float_storage_v<Y>, "x and y must be float, f16 or bf16");
  if (x == nullptr || y == nullptr)
    lowbit::detail::fail("{}: null pointer (x={}, y={})", who, static_cast<const void*>(x),
                         static_cast<const void*>(y));
}

template <class S>
void check_single_expert(const qmatrix<S>& w, const char* who) {
  if (w.experts != 1)
    lowbit::detail::fail("{}: needs a single matrix, got {} experts (use gather_qmv / expert_view)", who,
                         w.experts);
}
}  // namespace impl

/// y[rows] = W x.
template <class S, class X, class Y>
void qmv(const qmatrix<S>& w, const X* x, Y* y) {
  validate(w, "qmv");
  impl::check_single_expert(w, "qmv");
  impl::check_matmul_io(x, y, "qmv");
  impl::matmul_rows(w, x, 1, y, w.rows);
}

/// y[m][rows] = x[m][cols] W^T.
template <class S, class X, class Y>
void qmm(const qmatrix<S>& w, const X* x, std::size_t m, Y* y) {
  validate(w, "qmm");
  impl::check_single_expert(w, "qmm");
  if (m == 0) return;
  impl::check_matmul_io(x, y, "qmm");
  impl::matmul_rows(w, x, m, y, w.rows);
}

/// y[t][j][:] = W[ids[t*top_k + j]] x[t] for t < tokens, j < top_k.
template <class S, class X, class Y>
void gather_qmv(const qmatrix<S>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y) {
  validate(w, "gather_qmv");
  validate_expert_ids(w, ids, tokens, top_k, "gather_qmv");
  if (tokens == 0 || top_k == 0) return;
  impl::check_matmul_io(x, y, "gather_qmv");
  for (std::size_t t = 0; t < tokens; ++t)
    for (std::size_t j = 0; j < top_k; ++j)
      impl::matmul_rows(expert_view(w, ids[t * top_k + j]), x + t * w.cols, 1, y + (t * top_k + j) * w.rows,
                        w.rows);
}

/// Same result as gather_qmv (the fast version groups tokens by expert).
template <class S, class X, class Y>
void gather_qmm(const qmatrix<S>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y) {
  reference::gather_qmv(w, x, tokens, ids, top_k, y);
}

}  // namespace reference
}  // namespace lowbit
