// Scalar reference kernels for LUT-palettized weights: the definition the
// SIMD kernels are tested against. Weight (e, r, c) is
//   v = float(lut[group(e, r)][idx(e, r, c)])            (no channel scale)
//   v = float(lut[...]) * float(s)  rounded to float     (with one)
// dequantize rounds v once to Out (so an f16 LUT dequantized to f16 is the
// table entry itself, and with a scale it is CoreML's fp16 lut*scale).
// Matmuls accumulate v * x in double and round once to Y.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/half.hpp"
#include "lowbit/format/lut.hpp"

namespace lowbit {

namespace detail {

/// A LUT entry as float: f16/bf16/float tables, and the int8/uint8 tables CoreML allows.
template <class L>
constexpr float lut_entry_to_float(L v) noexcept {
  if constexpr (std::is_integral_v<L>)
    return static_cast<float>(v);
  else
    return to_float(v);
}

template <class L>
void check_lut_table_type() {
  static_assert(is_float_storage_v<L> || std::is_same_v<L, std::int8_t> || std::is_same_v<L, std::uint8_t>,
                "LUT entries must be float, f16, bf16, int8 or uint8");
}

/// The LUT (2^bits entries) of stacked row `row` (expert * rows + r).
template <class L>
const L* lut_of_row(const lut_matrix<L>& w, std::size_t row) noexcept {
  return w.lut + (row / lut_rows_per_group(w.format, w.rows)) * lut_entries(w.format);
}

/// The channel scale of stacked row `row`, column c (1 when there is none).
template <class L>
float lut_scale_at(const lut_matrix<L>& w, std::size_t row, std::size_t c) noexcept {
  switch (w.channel_scale) {
    case lut_channel_scale::none:
      return 1.0f;
    case lut_channel_scale::output_rows:
      return lut_entry_to_float(w.scales[row]);
    case lut_channel_scale::input_columns:
      return lut_entry_to_float(w.scales[(row / w.rows) * w.cols + c]);
  }
  return 1.0f;
}

/// Checks the ids of a gather against w.experts.
template <class L>
void validate_lut_expert_ids(const lut_matrix<L>& w, const std::uint32_t* ids, std::size_t tokens,
                             std::size_t top_k, const char* who) {
  const std::size_t n = checked_mul(tokens, top_k, who);
  if (n != 0 && ids == nullptr) fail("{}: ids is null", who);
  for (std::size_t i = 0; i < n; ++i)
    if (ids[i] >= w.experts)
      fail("{}: expert id {} at token {}, slot {} is out of range (experts = {})", who, ids[i], i / top_k,
           i % top_k, w.experts);
}

template <class X, class Y>
void check_lut_matmul_io(const X* x, const Y* y, const char* who) {
  static_assert(is_float_storage_v<X> && is_float_storage_v<Y>, "x and y must be float, f16 or bf16");
  if (x == nullptr || y == nullptr)
    fail("{}: null pointer (x={}, y={})", who, static_cast<const void*>(x), static_cast<const void*>(y));
}

}  // namespace detail

/// The matrix of expert e as a single-expert view (same LUTs, indices offset).
/// Throws unless the expert's first index starts on a byte boundary, which
/// holds whenever rows*cols*bits is a multiple of 8.
template <class L>
lut_matrix<L> lut_expert_view(const lut_matrix<L>& w, std::size_t e) {
  if (e >= w.experts) detail::fail("lut_expert_view: expert {} out of range (experts = {})", e, w.experts);
  const std::size_t bits = e * w.rows * w.cols * static_cast<std::size_t>(w.format.bits);
  if (bits % 8 != 0)
    detail::fail("lut_expert_view: expert {} starts mid-byte ({} x {} x {} bits per expert)", e, w.rows,
                 w.cols, w.format.bits);
  lut_matrix<L> v = w;
  v.indices = w.indices + bits / 8;
  v.lut = w.lut + lut_groups(w.format, w.rows, e) * lut_entries(w.format);
  v.experts = 1;
  if (w.channel_scale != lut_channel_scale::none)
    v.scales = w.scales + lut_scale_count(w.channel_scale, w.rows, w.cols, e);
  return v;
}

namespace reference {

/// Weight (stacked row, col) of w as float.
template <class L>
float lut_weight_value(const lut_matrix<L>& w, std::size_t row, std::size_t c) noexcept {
  const std::uint32_t q = lut_index_at(w.indices, row * w.cols + c, w.format.bits);
  const float v = detail::lut_entry_to_float(detail::lut_of_row(w, row)[q]);
  return w.channel_scale == lut_channel_scale::none ? v : v * detail::lut_scale_at(w, row, c);
}

/// out[experts*rows*cols] = W, each value rounded once to Out.
template <class L, class Out>
void dequantize(const lut_matrix<L>& w, Out* out) {
  detail::check_lut_table_type<L>();
  static_assert(is_float_storage_v<Out>, "dequantize: Out must be float, f16 or bf16");
  validate(w, "dequantize");
  if (out == nullptr) detail::fail("dequantize: null output");
  for (std::size_t row = 0; row < w.experts * w.rows; ++row)
    for (std::size_t c = 0; c < w.cols; ++c)
      out[row * w.cols + c] = from_float<Out>(lut_weight_value(w, row, c));
}

namespace lut_impl {
template <class L, class X, class Y>
void matmul_rows(const lut_matrix<L>& w, std::size_t row0, const X* x, std::size_t m, Y* y,
                 std::size_t y_stride) {
  std::vector<float> v(w.cols);
  for (std::size_t r = 0; r < w.rows; ++r) {
    for (std::size_t c = 0; c < w.cols; ++c) v[c] = lut_weight_value(w, row0 + r, c);
    for (std::size_t t = 0; t < m; ++t) {
      double acc = 0.0;
      for (std::size_t c = 0; c < w.cols; ++c)
        acc += static_cast<double>(v[c]) * static_cast<double>(to_float(x[t * w.cols + c]));
      y[t * y_stride + r] = from_float<Y>(static_cast<float>(acc));
    }
  }
}

template <class L>
void check_single(const lut_matrix<L>& w, const char* who) {
  validate(w, who);
  if (w.experts != 1)
    detail::fail("{}: needs a single matrix, got {} experts (use gather_qmv or lut_expert_view)", who,
                 w.experts);
}
}  // namespace lut_impl

/// y[rows] = W x (experts == 1).
template <class L, class X, class Y>
void qmv(const lut_matrix<L>& w, const X* x, Y* y) {
  detail::check_lut_table_type<L>();
  lut_impl::check_single(w, "qmv");
  detail::check_lut_matmul_io(x, y, "qmv");
  lut_impl::matmul_rows(w, 0, x, 1, y, w.rows);
}

/// y[m][rows] = x[m][cols] W^T (experts == 1).
template <class L, class X, class Y>
void qmm(const lut_matrix<L>& w, const X* x, std::size_t m, Y* y) {
  detail::check_lut_table_type<L>();
  lut_impl::check_single(w, "qmm");
  if (m == 0) return;
  detail::check_lut_matmul_io(x, y, "qmm");
  lut_impl::matmul_rows(w, 0, x, m, y, w.rows);
}

/// MoE: y[t][j][:] = W[ids[t*top_k + j]] x[t] for t < tokens, j < top_k.
template <class L, class X, class Y>
void gather_qmv(const lut_matrix<L>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y) {
  detail::check_lut_table_type<L>();
  validate(w, "gather_qmv");
  detail::validate_lut_expert_ids(w, ids, tokens, top_k, "gather_qmv");
  if (tokens == 0 || top_k == 0) return;
  detail::check_lut_matmul_io(x, y, "gather_qmv");
  for (std::size_t t = 0; t < tokens; ++t)
    for (std::size_t j = 0; j < top_k; ++j)
      lut_impl::matmul_rows(w, ids[t * top_k + j] * w.rows, x + t * w.cols, 1, y + (t * top_k + j) * w.rows,
                            w.rows);
}

/// Same result as gather_qmv.
template <class L, class X, class Y>
void gather_qmm(const lut_matrix<L>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y) {
  reference::gather_qmv(w, x, tokens, ids, top_k, y);
}

}  // namespace reference
}  // namespace lowbit
