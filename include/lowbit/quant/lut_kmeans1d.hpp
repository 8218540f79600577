// Globally optimal weighted 1-D k-means (what coremltools' bundled kmeans1d
// computes for fp16 groups of >= 10000 weights): clusters are contiguous runs
// of the sorted distinct values, so the optimum is a dynamic program over
// prefixes, D[m][i] = min_j D[m-1][j] + cost(j, i), with cost the weighted
// squared error of values (j, i]. The cost is concave Monge, so the best j
// (opt[m][i]) is non-decreasing in i and in m; each layer is solved by
// divide and conquer over i inside those bounds, all in double.
//
// Two algebraic steps keep the inner loop to 3 loads, 2 subtracts, 1 FMA and
// 1 divide: the data are centered on their weighted mean (so the prefix sums
// S stay small and cancellation in Q - S^2/W stays harmless), and each layer
// stores E[m][i] = D[m][i] - Q[i], which turns the candidate value into
// E[m-1][j] - (S[i]-S[j])^2 / (W[i]-W[j]) (the Q terms telescope).
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "lowbit/core/error.hpp"

namespace lowbit::detail {

/// Scratch memory of one solver; reuse it across groups to avoid allocation.
struct kmeans1d_workspace {
  std::vector<double> W, S, Q;        // prefix weights, weighted (x - c), weighted (x - c)^2
  std::vector<double> E_prev, E_cur;  // E[m][i] = D[m][i] - Q[i] for the last two layers
  std::vector<std::uint32_t> opt;     // opt[m-1][i]: start of the last cluster, layers m >= 2
};

namespace kmeans1d_impl {

struct layer {
  const double* W;
  const double* S;
  const double* E;             // previous layer
  double* out;                 // this layer's E
  std::uint32_t* opt;          // this layer's argmins
  const std::uint32_t* lower;  // previous layer's argmins (a lower bound), or nullptr
  std::size_t lower_end;       // lower[] is valid for i < lower_end
};

}  // namespace kmeans1d_impl
}  // namespace lowbit::detail

// The sweep for AVX-512 and AVX2 when the translation unit targets less (the
// common case for a library: no -march), chosen at run time; plus the
// translation unit's own ISA. The AVX-512 version is ~4x faster than SSE2.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__AVX512F__) && \
    !defined(LOWBIT_NO_KMEANS1D_DISPATCH)
#define LOWBIT_KMEANS1D_DISPATCH 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#endif
#define LOWBIT_KMEANS1D_NS avx512
#include "lowbit/quant/lut_kmeans1d_layer-inl.hpp"
#undef LOWBIT_KMEANS1D_NS
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#if !defined(__AVX2__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define LOWBIT_KMEANS1D_NS avx2
#include "lowbit/quant/lut_kmeans1d_layer-inl.hpp"
#undef LOWBIT_KMEANS1D_NS
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
#endif
#define LOWBIT_KMEANS1D_NS native
#include "lowbit/quant/lut_kmeans1d_layer-inl.hpp"
#undef LOWBIT_KMEANS1D_NS

namespace lowbit::detail {
namespace kmeans1d_impl {

using solve_fn = void (*)(const layer&, std::size_t, std::size_t, std::size_t, std::size_t) noexcept;

/// Every sweep compiled into this translation unit that this CPU runs, best first.
inline std::vector<std::pair<const char*, solve_fn>> solvers() {
  std::vector<std::pair<const char*, solve_fn>> v;
#if defined(LOWBIT_KMEANS1D_DISPATCH)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
    v.emplace_back("avx512", &avx512::solve);
#if !defined(__AVX2__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) v.emplace_back("avx2", &avx2::solve);
#endif
#endif
  v.emplace_back("native", &native::solve);
  return v;
}

/// Tests pin a sweep here (nullptr = the best one).
inline std::atomic<solve_fn>& pinned_solver() noexcept {
  static std::atomic<solve_fn> f{nullptr};
  return f;
}

/// The sweep kmeans1d_optimal uses: the pinned one, else the best (decided once).
inline solve_fn solver() noexcept {
  if (const solve_fn p = pinned_solver().load(std::memory_order_relaxed)) return p;
  static const solve_fn best = solvers().front().second;
  return best;
}

}  // namespace kmeans1d_impl

/// Optimal weighted k-means of the sorted, distinct values x[0..n) with
/// weights w (> 0), 1 <= k <= n. Writes the exclusive end of each cluster to
/// ends[0..k) (ascending, ends[k-1] = n) and returns the total weighted
/// squared error.
inline double kmeans1d_optimal(const double* x, const double* w, std::size_t n, std::size_t k,
                               kmeans1d_workspace& ws, std::size_t* ends) {
  if (k == 0 || k > n) fail("kmeans1d_optimal: k {} must be in [1, n = {}]", k, n);
  if (n >= std::numeric_limits<std::uint32_t>::max())
    fail("kmeans1d_optimal: {} distinct values is too many", n);
  // `lanes` padding entries: the vector scan reads (and then masks) past hi.
  ws.W.assign(n + 1 + kmeans1d_impl::native::lanes, 1.0);
  ws.S.assign(n + 1 + kmeans1d_impl::native::lanes, 0.0);
  ws.Q.resize(n + 1);
  double sw = 0, swx = 0;
  for (std::size_t i = 0; i < n; ++i) sw += w[i], swx += w[i] * x[i];
  const double center = swx / sw;
  double* W = ws.W.data();
  double* S = ws.S.data();
  double* Q = ws.Q.data();
  W[0] = S[0] = Q[0] = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = x[i] - center;
    W[i + 1] = W[i] + w[i];
    S[i + 1] = S[i] + w[i] * d;
    Q[i + 1] = Q[i] + w[i] * d * d;
  }
  if (k == 1) {
    ends[0] = n;
    return std::max(0.0, Q[n] - S[n] * S[n] / W[n]);
  }
  // Layer m (1-based) is needed for i in [m, n - (k - m)]: later layers must
  // keep at least one value per remaining cluster.
  const std::size_t span = n - k + 1;  // how many i each layer computes
  const std::size_t opt_size = checked_mul(k, n + 1, "kmeans1d_optimal");
  if (opt_size > (std::size_t{1} << 30))
    fail(
        "kmeans1d_optimal: {} clusters x {} distinct values needs {} MiB of split table; use f16 weights "
        "(at most 63k distinct values) or kmeans_lloyd",
        k, n, opt_size * 4 >> 20);
  ws.opt.resize(opt_size + kmeans1d_impl::native::lanes);  // padded: see solve_block
  ws.E_prev.assign(n + 1 + kmeans1d_impl::native::lanes, 0.0);
  ws.E_cur.assign(n + 1 + kmeans1d_impl::native::lanes, 0.0);
  double* Ep = ws.E_prev.data();
  for (std::size_t i = 1; i <= span; ++i) Ep[i] = -S[i] * S[i] / W[i];  // one cluster over (0, i]
  for (std::size_t m = 2; m <= k; ++m) {
    const std::size_t ilo = m == k ? n : m, ihi = n - (k - m);
    kmeans1d_impl::layer L{W,
                           S,
                           Ep,
                           ws.E_cur.data(),
                           ws.opt.data() + (m - 1) * (n + 1),
                           m > 2 ? ws.opt.data() + (m - 2) * (n + 1) : nullptr,
                           n - (k - m)};
    kmeans1d_impl::solver()(L, ilo, ihi, m - 1, ihi - 1);
    std::swap(ws.E_prev, ws.E_cur);
    Ep = ws.E_prev.data();
  }
  const double sse = std::max(0.0, Ep[n] + Q[n]);
  std::size_t i = n;
  for (std::size_t m = k; m >= 2; --m) {
    ends[m - 1] = i;
    i = ws.opt[(m - 1) * (n + 1) + i];
  }
  ends[0] = i;
  return sse;
}

/// Weighted squared error of a partition, computed directly (for tests and
/// for callers that want the error of a given clustering).
inline double kmeans1d_partition_cost(const double* x, const double* w, std::size_t k,
                                      const std::size_t* ends) {
  double total = 0;
  std::size_t b = 0;
  for (std::size_t c = 0; c < k; ++c) {
    double sw = 0, swx = 0;
    for (std::size_t i = b; i < ends[c]; ++i) sw += w[i], swx += w[i] * x[i];
    const double mean = sw > 0 ? swx / sw : 0;
    for (std::size_t i = b; i < ends[c]; ++i) total += w[i] * (x[i] - mean) * (x[i] - mean);
    b = ends[c];
  }
  return total;
}

}  // namespace lowbit::detail
