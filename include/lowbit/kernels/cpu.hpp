// The dispatched CPU kernels: the typed entry points (same meaning as
// DESIGN.md §3, plus an executor and a backend) that validate, erase types
// into a job and run one backend's kernel table. kernels/api.hpp routes the
// public lowbit:: functions here. The kernel tables are compiled in this TU
// unless LOWBIT_SEPARATE_KERNELS says otherwise (kernels/entry_points.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/executor.hpp"
#include "lowbit/core/half.hpp"
#include "lowbit/core/numerics.hpp"
#include "lowbit/core/stores.hpp"
#include "lowbit/format/qmatrix.hpp"
#include "lowbit/kernels/entry_points.hpp"
#include "lowbit/kernels/job.hpp"
#include "lowbit/kernels/reference/matmul.hpp"
#include "lowbit/simd/backend.hpp"
#if LOWBIT_DETAIL_DEFINE_KERNELS
#include "lowbit/kernels/highway.hpp"
#include "lowbit/kernels/portable.hpp"
#endif

namespace lowbit::kernels {

/// The kernel table a backend runs with on this CPU.
inline kernel_table table_for(backend b) {
  switch (resolve(b)) {
    case backend::scalar:
      return scalar_table();
    case backend::xsimd:
      return xsimd_table();
    default:
      return highway_table();
  }
}

namespace impl {
template <class T>
const float* as_float(const T* p, std::size_t n, std::vector<float>& buf) {
  if constexpr (std::is_same_v<T, float>) {
    (void)n, (void)buf;
    return p;
  } else {
    buf.resize(n);
    for (std::size_t i = 0; i < n; ++i) buf[i] = to_float(p[i]);
    return buf.data();
  }
}

/// y rows (y_stride apart) = W x[t] for t < m, W a single matrix; or, with ids, the
/// m * top_k routes of a gather (route k: x[k / top_k] through expert ids[k] of the stack).
template <class S, class X, class Y>
void matmul(const qmatrix<S>& w, const X* x, std::size_t m, Y* y, std::size_t y_stride, const executor& ex,
            const kernel_table& t, numerics nm, const std::uint32_t* ids = nullptr, std::size_t top_k = 1) {
  std::vector<float> xb;
  matmul_job j;
  j.w = make_qjob(w, w.rows);  // a stack's expert 0
  j.x = as_float(x, m * w.cols, xb);
  j.m = m;
  j.x_stride = w.cols;
  j.ex = ex;
  j.int8 = nm == numerics::int8;
  j.expert_ids = ids;
  j.top_k = top_k;
  with_float_output(ids ? m * top_k : m, w.rows, y, y_stride, [&](float* yp, std::size_t stride) {
    j.y = yp;
    j.y_stride = stride;
    t.matmul(j);
    return true;
  });
}
}  // namespace impl

/// out[experts*rows*cols] = W (bit-exact with reference::dequantize), with plain or
/// non-temporal stores as `st` says (core/stores.hpp).
template <class S, class Out>
void dequantize(const qmatrix<S>& w, Out* out, const executor& ex = {}, backend b = backend::automatic,
                stores st = stores::automatic) {
  static_assert(is_float_storage_v<Out>, "dequantize: Out must be float, f16 or bf16");
  validate(w, "dequantize");
  if (out == nullptr) detail::fail("dequantize: out is null");
  dequant_job j;
  j.w = make_qjob(w, w.experts * w.rows);  // expert stacks are contiguous: one tall matrix
  j.out = out;
  j.out_kind = elem_kind_of<Out>();
  j.ex = ex;
  j.stream = streams(st, j.w.rows * w.cols * sizeof(Out));
  table_for(b).dequantize(j);
}

/// y[rows] = W x.
template <class S, class X, class Y>
void qmv(const qmatrix<S>& w, const X* x, Y* y, const executor& ex = {}, backend b = backend::automatic,
         numerics nm = numerics::exact) {
  validate(w, "qmv");
  reference::impl::check_single_expert(w, "qmv");
  reference::impl::check_matmul_io(x, y, "qmv");
  impl::matmul(w, x, 1, y, w.rows, ex, table_for(b), nm);
}

/// y[m][rows] = x[m][cols] W^T.
template <class S, class X, class Y>
void qmm(const qmatrix<S>& w, const X* x, std::size_t m, Y* y, const executor& ex = {},
         backend b = backend::automatic, numerics nm = numerics::exact) {
  validate(w, "qmm");
  reference::impl::check_single_expert(w, "qmm");
  if (m == 0) return;
  reference::impl::check_matmul_io(x, y, "qmm");
  impl::matmul(w, x, m, y, w.rows, ex, table_for(b), nm);
}

/// MoE, one activation row per route: reads only the routed experts' bytes; every
/// route (token x routed expert) in one parallel loop, each token's x prepared once.
template <class S, class X, class Y>
void gather_qmv(const qmatrix<S>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y, const executor& ex = {}, backend b = backend::automatic,
                numerics nm = numerics::exact) {
  validate(w, "gather_qmv");
  validate_expert_ids(w, ids, tokens, top_k, "gather_qmv");
  if (tokens == 0 || top_k == 0) return;
  reference::impl::check_matmul_io(x, y, "gather_qmv");
  impl::matmul(w, x, tokens, y, w.rows, ex, table_for(b), nm, ids, top_k);
}

/// MoE, tokens grouped by expert: each used expert runs one qmm over the
/// tokens routed to it (gathered), results scattered back.
template <class S, class X, class Y>
void gather_qmm(const qmatrix<S>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y, const executor& ex = {}, backend b = backend::automatic,
                numerics nm = numerics::exact) {
  validate(w, "gather_qmm");
  validate_expert_ids(w, ids, tokens, top_k, "gather_qmm");
  if (tokens == 0 || top_k == 0) return;
  reference::impl::check_matmul_io(x, y, "gather_qmm");
  const kernel_table t = table_for(b);
  const std::size_t n = tokens * top_k;
  std::vector<std::size_t> start(w.experts + 1, 0), order(n);
  for (std::size_t i = 0; i < n; ++i) ++start[ids[i] + 1];
  for (std::size_t e = 0; e < w.experts; ++e) start[e + 1] += start[e];
  {
    std::vector<std::size_t> fill(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < n; ++i) order[fill[ids[i]]++] = i;
  }
  std::vector<float> xs, ys;
  for (std::size_t e = 0; e < w.experts; ++e) {
    const std::size_t cnt = start[e + 1] - start[e];
    if (cnt == 0) continue;
    xs.resize(cnt * w.cols);
    ys.resize(cnt * w.rows);
    for (std::size_t k = 0; k < cnt; ++k) {
      const X* xr = x + order[start[e] + k] / top_k * w.cols;
      for (std::size_t c = 0; c < w.cols; ++c) xs[k * w.cols + c] = to_float(xr[c]);
    }
    impl::matmul(expert_view(w, e), xs.data(), cnt, ys.data(), w.rows, ex, t, nm);
    for (std::size_t k = 0; k < cnt; ++k) {
      Y* yr = y + order[start[e] + k] * w.rows;
      for (std::size_t r = 0; r < w.rows; ++r) yr[r] = from_float<Y>(ys[k * w.rows + r]);
    }
  }
}

}  // namespace lowbit::kernels
