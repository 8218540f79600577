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
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
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

// A GNU vector of 8 doubles: g++ and clang lower it to whatever the target
// has (one zmm with AVX-512, two ymm with AVX2, four xmm with SSE2), so this
// stays portable C++ without an ISA switch. The candidate scan is the whole
// cost of the solver, and it is a plain elementwise expression plus a
// running (value, index) minimum: exactly what these vectors do well.
constexpr int lanes = 8;
typedef double vdouble __attribute__((vector_size(lanes * sizeof(double))));
typedef std::int64_t vindex __attribute__((vector_size(lanes * sizeof(std::int64_t))));
typedef double vd4 __attribute__((vector_size(4 * sizeof(double))));
typedef std::int64_t vi4 __attribute__((vector_size(4 * sizeof(std::int64_t))));
typedef double vd2 __attribute__((vector_size(2 * sizeof(double))));
typedef std::int64_t vi2 __attribute__((vector_size(2 * sizeof(std::int64_t))));

// Vectors travel by reference: by value they would change the ABI between
// ISA levels (g++ -Wpsabi), and everything here inlines anyway.
template <class V>
[[gnu::always_inline]] inline void load(V& v, const double* p) noexcept {
  std::memcpy(&v, p, sizeof v);
}

/// Branch-free (value, index) minimum of 4 lanes, smaller index on ties.
[[gnu::always_inline]] inline std::size_t argmin4(const vd4& v, const vi4& i, double& best) noexcept {
  vd2 a = __builtin_shufflevector(v, v, 0, 1), b = __builtin_shufflevector(v, v, 2, 3);
  vi2 ia = __builtin_shufflevector(i, i, 0, 1), ib = __builtin_shufflevector(i, i, 2, 3);
  const vi2 take = (b < a) | ((b == a) & (ib < ia));
  a = take ? b : a;
  ia = take ? ib : ia;
  const bool second = a[1] < a[0] || (a[1] == a[0] && ia[1] < ia[0]);
  best = second ? a[1] : a[0];
  return static_cast<std::size_t>(second ? ia[1] : ia[0]);
}

struct layer {
  const double* W;
  const double* S;
  const double* E;             // previous layer
  double* out;                 // this layer's E
  std::uint32_t* opt;          // this layer's argmins
  const std::uint32_t* lower;  // previous layer's argmins (a lower bound), or nullptr
  std::size_t lower_end;       // lower[] is valid for i < lower_end
};

/// min over j in [lo, hi] of E[j] - (S_i - S_j)^2 / (W_i - W_j); the leftmost argmin.
/// The arrays are padded by `lanes` readable entries past n (see kmeans1d_optimal);
/// lanes past hi are masked. Everything is branch-free except the trip count:
/// most calls come from the fine strides of the sweep, where ranges are 1-4
/// wide and independent, so the CPU overlaps them when no branch mispredicts.
inline std::size_t best_split(const layer& L, std::size_t i, std::size_t lo, std::size_t hi,
                              double& best) noexcept {
  const double Si = L.S[i], Wi = L.W[i];
  const double inf = std::numeric_limits<double>::infinity();
  if (hi - lo < 4) {
    const vi4 jv = vi4{0, 1, 2, 3} + static_cast<std::int64_t>(lo);
    vd4 s, w, e;
    load(s, L.S + lo);
    load(w, L.W + lo);
    load(e, L.E + lo);
    const vd4 ds = Si - s;
    vd4 v = e - ds * ds / (Wi - w);
    v = jv <= static_cast<std::int64_t>(hi) ? v : inf;
    return argmin4(v, jv, best);
  }
  // Division-free running minimum: a candidate is the fraction
  // (E_j dW - dS^2) / dW with dW > 0, and a/b < c/d  <=>  a d < c b: two
  // multiplies instead of a divide, which has a fraction of their throughput.
  vdouble bnum = vdouble{} + inf, bden = vdouble{} + 1.0;
  vindex jv = vindex{0, 1, 2, 3, 4, 5, 6, 7} + static_cast<std::int64_t>(lo);
  vindex bi = jv;
  const vindex last = vindex{} + static_cast<std::int64_t>(hi);
  for (std::size_t j = lo; j <= hi; j += lanes, jv += lanes) {
    vdouble s, w, e;
    load(s, L.S + j);
    load(w, L.W + j);
    load(e, L.E + j);
    const vdouble ds = Si - s, dw = Wi - w;
    const vdouble num = e * dw - ds * ds;
    const vindex better = (num * bden < bnum * dw) & (jv <= last);
    bnum = better ? num : bnum;
    bden = better ? dw : bden;
    bi = better ? jv : bi;
  }
  const vdouble bv = bnum / bden;
  vd4 a = __builtin_shufflevector(bv, bv, 0, 1, 2, 3), b = __builtin_shufflevector(bv, bv, 4, 5, 6, 7);
  vi4 ia = __builtin_shufflevector(bi, bi, 0, 1, 2, 3), ib = __builtin_shufflevector(bi, bi, 4, 5, 6, 7);
  const vi4 take = (b < a) | ((b == a) & (ib < ia));
  a = take ? b : a;
  ia = take ? ib : ia;
  return argmin4(a, ia, best);
}

/// Fills out/opt for i in [ilo, ihi], knowing every argmin is in [jlo, jhi].
/// Stride-halving instead of recursion: positions p = i - ilo + 1 that are odd
/// multiples of s take their bounds from p - s and p + s, solved at coarser
/// strides (0 and past the end stand for jlo and jhi). Same evaluations as the
/// recursive divide and conquer, without call overhead on the ~n tiny ranges.
inline void solve(const layer& L, std::size_t ilo, std::size_t ihi, std::size_t jlo,
                  std::size_t jhi) noexcept {
  const std::size_t count = ihi - ilo + 1;
  std::size_t s = std::size_t{1} << (std::bit_width(count) - 1);
  for (; s >= 1; s >>= 1) {
    for (std::size_t p = s; p <= count; p += 2 * s) {
      const std::size_t i = ilo + p - 1;
      std::size_t lo = p > s ? L.opt[i - s] : jlo;
      std::size_t hi = std::min(p + s <= count ? static_cast<std::size_t>(L.opt[i + s]) : jhi, i - 1);
      if (L.lower != nullptr && i < L.lower_end) lo = std::max<std::size_t>(lo, L.lower[i]);
      lo = std::min(lo, hi);  // float rounding can make the bounds cross; stay in range
      double best = 0;
      const std::size_t arg = best_split(L, i, lo, hi, best);
      L.out[i] = best;
      L.opt[i] = static_cast<std::uint32_t>(arg);
    }
  }
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
  ws.W.assign(n + 1 + kmeans1d_impl::lanes, 1.0);
  ws.S.assign(n + 1 + kmeans1d_impl::lanes, 0.0);
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
  ws.opt.resize(opt_size);
  ws.E_prev.assign(n + 1 + kmeans1d_impl::lanes, 0.0);
  ws.E_cur.assign(n + 1 + kmeans1d_impl::lanes, 0.0);
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
    kmeans1d_impl::solve(L, ilo, ihi, m - 1, ihi - 1);
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
