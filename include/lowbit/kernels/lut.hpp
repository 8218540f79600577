// Public LUT (palettized) kernels: lowbit::dequantize / qmv / qmm /
// gather_qmv / gather_qmm overloads for lut_matrix<L> (DESIGN.md §3), plus
// the LUT format helpers (CoreML iOS16/iOS18 forms, ANEMLL sizes). Values
// are defined by kernels/reference/lut.hpp; bits 1-6 with byte-aligned rows
// run the vector kernels (kernels/lut-inl.hpp) of the chosen backend, other
// widths the reference. Each takes an optional executor and backend; the
// matmuls also numerics::int8 (tables and activations quantized to int8 for 2/4-bit
// indices, 3-bit on AVX-512 VBMI; kernels/lut_int8-inl.hpp; other shapes run exact).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "lowbit/core/executor.hpp"
#include "lowbit/core/numerics.hpp"
#include "lowbit/core/stores.hpp"
#include "lowbit/format/lut.hpp"
#include "lowbit/format/lut_anemll.hpp"
#include "lowbit/format/lut_coreml.hpp"
#include "lowbit/kernels/lut_cpu.hpp"
#include "lowbit/kernels/reference/lut.hpp"
#include "lowbit/simd/backend.hpp"

namespace lowbit {

namespace detail {

/// Each group's table as floats, 16 per 16-entry table (the vector
/// kernels' lookup16 operands; a 5-bit LUT is 2 tables, 6-bit 4; only 1-6 bits).
/// Converted on the executor's threads: group-8 6-bit tables of a 1 GiB
/// matrix are 1.4M entries, ~4 ms of serial conversion against a 16 ms
/// 16-thread qmv.
template <class L>
std::vector<float> lut_tables16(const lut_matrix<L>& w, const executor& ex = {}) {
  const std::size_t groups = lut_groups(w.format, w.rows, w.experts), e = lut_entries(w.format);
  const std::size_t stride = std::max<std::size_t>(16, std::min<std::size_t>(e, 64));
  std::vector<float> t(groups * stride, 0.0f);
  constexpr std::size_t per_task = 1024;  // groups
  ex.parallel_for((groups + per_task - 1) / per_task, [&](std::size_t task) {
    for (std::size_t g = task * per_task; g < std::min(groups, task * per_task + per_task); ++g)
      for (std::size_t i = 0; i < std::min(e, stride); ++i)
        t[g * stride + i] = lut_entry_to_float(w.lut[g * e + i]);
  });
  return t;
}

template <class L>
std::vector<float> lut_scales_f32(const lut_matrix<L>& w) {
  std::vector<float> s(lut_scale_count(w.channel_scale, w.rows, w.cols, w.experts));
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = lut_entry_to_float(w.scales[i]);
  return s;
}

/// Whether the vector kernels may take w at all (they also check the shape).
template <class L>
bool lut_vector_path(const lut_matrix<L>& w) {
  return w.format.bits <= 6 && (w.cols * static_cast<std::size_t>(w.format.bits)) % 8 == 0;
}

/// The fields of a matmul job that depend on w's format only.
template <class L>
kernels::lut_job lut_matmul_job(const lut_matrix<L>& w, numerics nm, const executor& ex) {
  kernels::lut_job j;
  j.indices = w.indices;
  j.rows = w.rows;
  j.cols = w.cols;
  j.group_rows = lut_rows_per_group(w.format, w.rows);
  j.expert_rows = w.rows;
  j.bits = w.format.bits;
  j.f16_tables = std::is_same_v<L, f16>;
  j.x_stride = w.cols;
  j.int8 = nm == numerics::int8;
  j.ex = ex;
  return j;
}

/// Runs j with `outputs` result rows of j.rows floats, written to y (y_stride apart) as Y.
template <class Y>
bool run_lut_matmul_into(kernels::lut_job& j, std::size_t outputs, Y* y, std::size_t y_stride, backend b) {
  return kernels::with_float_output(outputs, j.rows, y, y_stride, [&](float* yp, std::size_t stride) {
    j.y = yp;
    j.y_stride = stride;
    return kernels::run_lut_matmul(j, b);
  });
}

/// Activation rows t < m as floats: row(t) gives {the row, its column scales or nullptr}.
/// `in_place` (float rows that need no scaling) is returned as it is.
template <class X, class Row>
const float* lut_x_rows(const X* in_place, std::size_t m, std::size_t cols, Row&& row,
                        std::vector<float>& buf) {
  if constexpr (std::is_same_v<X, float>)
    if (in_place != nullptr) return in_place;
  buf.resize(m * cols);
  for (std::size_t t = 0; t < m; ++t) {
    const auto [xr, cs] = row(t);
    for (std::size_t c = 0; c < cols; ++c)
      buf[t * cols + c] = to_float(xr[c]) * (cs != nullptr ? cs[c] : 1.0f);
  }
  return buf.data();
}

/// y[t][r] = W x[t] for one single-expert matrix through the vector kernels.
template <class L, class X, class Y>
bool lut_matmul_vector(const lut_matrix<L>& w, const X* x, std::size_t m, Y* y, std::size_t y_stride,
                       const executor& ex, backend b, numerics nm) {
  if (!lut_vector_path(w)) return false;
  const std::vector<float> tables = lut_tables16(w, ex), scales = lut_scales_f32(w);
  const bool col = w.channel_scale == lut_channel_scale::input_columns;
  std::vector<float> xf;
  kernels::lut_job j = lut_matmul_job(w, nm, ex);
  j.tables = tables.data();
  j.row_scale = w.channel_scale == lut_channel_scale::output_rows ? scales.data() : nullptr;
  j.x = lut_x_rows(
      col ? nullptr : x, m, w.cols,
      [&](std::size_t t) {
        return std::pair{x + t * w.cols, col ? scales.data() : nullptr};
      },
      xf);
  j.m = m;
  return run_lut_matmul_into(j, m, y, y_stride, b);
}

/// A gather's routes (route k: token k / top_k through expert ids[k], into y row k)
/// through the vector kernels as one job: each routed expert's tables and scales
/// converted once, each token's x prepared once (per route with input-column scales,
/// which differ per expert).
template <class L, class X, class Y>
bool lut_gather_vector(const lut_matrix<L>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                       std::size_t top_k, Y* y, const executor& ex, backend b, numerics nm) {
  if (!lut_vector_path(w) || (w.rows * w.cols * static_cast<std::size_t>(w.format.bits)) % 8 != 0)
    return false;
  const std::size_t n = tokens * top_k, none = static_cast<std::size_t>(-1);
  std::vector<std::size_t> slot_of(w.experts, none);
  std::vector<std::uint32_t> used;  // the routed experts, first use first
  for (std::size_t k = 0; k < n; ++k)
    if (slot_of[ids[k]] == none) slot_of[ids[k]] = used.size(), used.push_back(ids[k]);
  std::vector<std::vector<float>> tables(used.size()), scales(used.size());
  // On the executor only when there is work to share (lut_tables16's task size): a
  // decode step's few experts convert in microseconds, less than waking threads.
  const bool share = used.size() * lut_groups(w.format, w.rows) >= 2048;
  (share ? ex : executor{}).parallel_for(used.size(), [&](std::size_t s) {
    const lut_matrix<L> v = lut_expert_view(w, used[s]);
    tables[s] = lut_tables16(v), scales[s] = lut_scales_f32(v);
  });
  const bool col = w.channel_scale == lut_channel_scale::input_columns;
  std::vector<float> xf;
  std::vector<kernels::lut_route> routes(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t s = slot_of[ids[k]];
    routes[k].indices = lut_expert_view(w, ids[k]).indices;
    routes[k].tables = tables[s].data();
    routes[k].row_scale = w.channel_scale == lut_channel_scale::output_rows ? scales[s].data() : nullptr;
    routes[k].x_row = col ? k : k / top_k;
  }
  kernels::lut_job j = lut_matmul_job(w, nm, ex);
  j.x = lut_x_rows(
      col ? nullptr : x, col ? n : tokens, w.cols,
      [&](std::size_t i) {
        return col ? std::pair{x + i / top_k * w.cols, scales[slot_of[ids[i]]].data()}
                   : std::pair{x + i * w.cols, static_cast<const float*>(nullptr)};
      },
      xf);
  j.m = col ? n : tokens;
  j.routes = routes.data();
  j.n_routes = n;
  return run_lut_matmul_into(j, n, y, w.rows, b);
}

}  // namespace detail

/// out[experts*rows*cols] = W (Out = float, f16 or bf16), bit-exact with
/// reference::dequantize. Bits 1-6 run the vector kernels of backend `b`, with plain or
/// non-temporal stores as `st` says (core/stores.hpp).
template <class L, class Out>
void dequantize(const lut_matrix<L>& w, Out* out, const executor& ex = {}, backend b = backend::automatic,
                stores st = stores::automatic) {
  detail::check_lut_table_type<L>();
  static_assert(is_float_storage_v<Out>, "dequantize: Out must be float, f16 or bf16");
  validate(w, "dequantize");
  if (out == nullptr) detail::fail("dequantize: null output");
  if (detail::lut_vector_path(w)) {
    const std::vector<float> tables = detail::lut_tables16(w, ex), scales = detail::lut_scales_f32(w);
    kernels::lut_job j;
    j.indices = w.indices;
    j.rows = w.experts * w.rows;
    j.cols = w.cols;
    j.group_rows = lut_rows_per_group(w.format, w.rows);
    j.expert_rows = w.rows;
    j.bits = w.format.bits;
    j.tables = tables.data();
    j.row_scale = w.channel_scale == lut_channel_scale::output_rows ? scales.data() : nullptr;
    j.col_scale = w.channel_scale == lut_channel_scale::input_columns ? scales.data() : nullptr;
    j.out = out;
    j.out_kind = kernels::elem_kind_of<Out>();
    j.ex = ex;
    j.stream = streams(st, j.rows * w.cols * sizeof(Out));
    if (kernels::run_lut_dequantize(j, b)) return;
  }
  reference::dequantize(w, out);
}

/// y[rows] = W x (experts == 1).
template <class L, class X, class Y>
void qmv(const lut_matrix<L>& w, const X* x, Y* y, const executor& ex = {}, backend b = backend::automatic,
         numerics nm = numerics::exact) {
  detail::check_lut_table_type<L>();
  reference::lut_impl::check_single(w, "qmv");
  detail::check_lut_matmul_io(x, y, "qmv");
  if (!detail::lut_matmul_vector(w, x, 1, y, w.rows, ex, b, nm)) reference::qmv(w, x, y);
}

/// y[m][rows] = x[m][cols] W^T (experts == 1).
template <class L, class X, class Y>
void qmm(const lut_matrix<L>& w, const X* x, std::size_t m, Y* y, const executor& ex = {},
         backend b = backend::automatic, numerics nm = numerics::exact) {
  detail::check_lut_table_type<L>();
  reference::lut_impl::check_single(w, "qmm");
  if (m == 0) return;
  detail::check_lut_matmul_io(x, y, "qmm");
  if (!detail::lut_matmul_vector(w, x, m, y, w.rows, ex, b, nm)) reference::qmm(w, x, m, y);
}

/// MoE over stacked experts: y[t][j][:] = W[ids[t*top_k + j]] x[t].
template <class L, class X, class Y>
void gather_qmv(const lut_matrix<L>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y, const executor& ex = {}, backend b = backend::automatic,
                numerics nm = numerics::exact) {
  detail::check_lut_table_type<L>();
  validate(w, "gather_qmv");
  detail::validate_lut_expert_ids(w, ids, tokens, top_k, "gather_qmv");
  if (tokens == 0 || top_k == 0) return;
  detail::check_lut_matmul_io(x, y, "gather_qmv");
  if (!detail::lut_gather_vector(w, x, tokens, ids, top_k, y, ex, b, nm))
    reference::gather_qmv(w, x, tokens, ids, top_k, y);
}

/// Same result as gather_qmv.
template <class L, class X, class Y>
void gather_qmm(const lut_matrix<L>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y, const executor& ex = {}, backend b = backend::automatic,
                numerics nm = numerics::exact) {
  gather_qmv(w, x, tokens, ids, top_k, y, ex, b, nm);
}

}  // namespace lowbit
