// coremltools' sklearn recipe for LUTs it cannot give to kmeans1d:
// KMeans(init="k-means++", n_init=1, tol=1e-2, random_state=0), max_iter 300,
// algorithm "lloyd" (research/lut.md §1.2), replayed draw for draw:
//  - the same random stream (numpy's RandomState, lut_numpy_rng.hpp);
//  - k-means++ as sklearn 1.2 (Debian 12; the anchor's version) runs it on
//    the raw samples in their order: first center = sample randint(n), then
//    per center 2 + floor(ln k) candidates drawn by searchsorted over the
//    running sum of squared distances in SAMPLE order, the one lowering the
//    potential most kept (greedy k-means++);
//  - Lloyd until the labels repeat or the summed squared center shift falls
//    to tol * variance (sklearn's _tolerance), labels = nearest final center;
//  - n_init runs from the same stream, the lowest inertia kept.
// So the LUTs equal sklearn's up to float rounding (distances, sums): a draw
// lands elsewhere only within ~1e-13 of a boundary of the running sum.
// sklearn >= 1.3 draws the first center with choice(n, p=w/sum(w)) instead of
// randint: different LUTs, same statistics.
//
// Cost. In 1-D both steps are interval arithmetic on the sorted distinct
// values: a candidate only changes the distances between its two neighbouring
// centers, and a Lloyd assignment is k-1 binary searches for midpoints. The
// running sum is kept as sums over blocks (and blocks of blocks) of samples;
// a center's update touches the blocks of the samples it moves, found
// through a per-value list of their blocks.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/rounding.hpp"
#include "lowbit/quant/lut_numpy_rng.hpp"

namespace lowbit::detail {

struct lloyd_params {
  std::uint64_t seed = 0;  // numpy RandomState seed (< 2^32)
  int max_iter = 300;
  double tol = 1e-2;  // relative to the variance
  int n_init = 1;     // coremltools passes 1
};

struct lloyd_workspace {
  std::vector<double> W, S, Q;           // prefix sums of w, w x, w x^2 over the distinct values
  std::vector<double> d;                 // per distinct value: squared distance to its nearest center
  std::vector<double> block, super;      // the samples' distances summed per block / per super block
  std::vector<std::uint32_t> at;         // blocks of value v's samples: blk[at[v] .. at[v + 1])
  std::unique_ptr<std::uint32_t[]> blk;  // not value-initialized: fresh pages cost enough (4 B per weight)
  std::size_t blk_size = 0;
  std::vector<double> sorted, trial, next, best_centers;
  std::vector<std::size_t> id, id_next, order, old_ends, best_ends;  // id: sklearn's index of each center
  static constexpr std::size_t block_size = 256, super_size = 64;    // samples per block, blocks per super
};

namespace lloyd_impl {

/// The sequence sklearn draws from. Samples in their order, sample e having
/// distinct value value_of(e) (coremltools' fit on the raw weights) ...
template <class ValueOf>
struct sample_sequence {
  static constexpr bool samples = true;
  ValueOf value_of;
  std::size_t n;
  [[nodiscard]] std::size_t value(std::size_t e) const noexcept { return value_of(e); }
  [[nodiscard]] static double mult(std::size_t) noexcept { return 1.0; }
};
/// ... or the distinct values themselves, weighted (fit(x, sample_weight=w)).
struct distinct_sequence {
  static constexpr bool samples = false;
  const double* w;
  std::size_t n;
  [[nodiscard]] static std::size_t value(std::size_t e) noexcept { return e; }
  [[nodiscard]] double mult(std::size_t e) const noexcept { return w[e]; }
};

/// np.searchsorted(cumsum(mult * d[value]), r, side="left"), clipped to n - 1.
template <class Seq>
std::size_t search(const lloyd_workspace& ws, const Seq& s, double r) noexcept {
  const std::size_t B = lloyd_workspace::block_size, SB = lloyd_workspace::super_size;
  double cum = 0;
  std::size_t sb = 0, b;
  for (; sb + 1 < ws.super.size() && cum + ws.super[sb] < r; ++sb) cum += ws.super[sb];
  for (b = sb * SB; b + 1 < std::min(ws.block.size(), sb * SB + SB) && cum + ws.block[b] < r; ++b)
    cum += ws.block[b];
  for (std::size_t e = b * B; e < s.n; ++e) {  // past the block only when sums round differently
    cum += s.mult(e) * ws.d[s.value(e)];
    if (cum >= r) return e;
  }
  return s.n - 1;
}

/// The distinct values a new center at c would take over: those nearer to c
/// than to the centers around it (up to midpoint ties, which gain nothing).
inline void won_range(const double* x, std::size_t n, const std::vector<double>& sorted_centers, double c,
                      std::size_t& first, std::size_t& last) noexcept {
  const auto up = std::upper_bound(sorted_centers.begin(), sorted_centers.end(), c);
  first = up == sorted_centers.begin()
              ? 0
              : static_cast<std::size_t>(std::lower_bound(x, x + n, 0.5 * (*(up - 1) + c)) - x);
  last = up == sorted_centers.end()
             ? n
             : static_cast<std::size_t>(std::upper_bound(x, x + n, 0.5 * (c + *up)) - x);
}

/// sum w (x - c)^2 over the distinct values [lo, hi), from prefix sums.
inline double cost(const lloyd_workspace& ws, std::size_t lo, std::size_t hi, double c) noexcept {
  const double sw = ws.W[hi] - ws.W[lo], sx = ws.S[hi] - ws.S[lo], sq = ws.Q[hi] - ws.Q[lo];
  return sq - 2 * c * sx + c * c * sw;
}

/// The potential's change if c becomes a center: over its won range [lo, hi)
/// the values now nearest to c were nearest to c's neighbouring centers a
/// (below the a-b midpoint) or b, so both sums are O(1) from prefix sums
/// instead of a pass over the range (the sum of min(d, (x - c)^2) sklearn
/// takes; equal up to rounding, ~1e-10 of the gain on these weights).
inline double gain(const lloyd_workspace& ws, const double* x, std::size_t n, double c, std::size_t lo,
                   std::size_t hi) noexcept {
  if (lo >= hi) return 0;
  const auto up = std::upper_bound(ws.sorted.begin(), ws.sorted.end(), c);
  const bool has_a = up != ws.sorted.begin(), has_b = up != ws.sorted.end();
  double old;
  if (has_a && has_b) {
    const double a = *(up - 1), b = *up;
    const std::size_t split =
        std::clamp(static_cast<std::size_t>(std::lower_bound(x, x + n, 0.5 * (a + b)) - x), lo, hi);
    old = cost(ws, lo, split, a) + cost(ws, split, hi, b);
  } else {
    old = cost(ws, lo, hi, has_a ? *(up - 1) : *up);
  }
  return std::min(0.0, cost(ws, lo, hi, c) - old);
}

/// sum w[i] * d[i] over [lo, hi), four chains.
inline double weighted_sum(const double* w, const double* d, std::size_t lo, std::size_t hi) noexcept {
  double g[4] = {0, 0, 0, 0};
  std::size_t i = lo;
  for (; i + 4 <= hi; i += 4)
    for (int j = 0; j < 4; ++j) g[j] += w[i + j] * d[i + j];
  for (; i < hi; ++i) g[0] += w[i] * d[i];
  return (g[0] + g[1]) + (g[2] + g[3]);
}

/// Super block sums from the block sums (cheaper than updating both per sample).
inline void sum_supers(lloyd_workspace& ws) noexcept {
  const std::size_t SB = lloyd_workspace::super_size;
  for (std::size_t sb = 0; sb < ws.super.size(); ++sb) {
    double sum = 0;
    for (std::size_t b = sb * SB; b < std::min(ws.block.size(), sb * SB + SB); ++b) sum += ws.block[b];
    ws.super[sb] = sum;
  }
}

/// Greedy k-means++ (sklearn's _kmeans_plusplus); centers ascending, ws.id
/// their draw order.
template <class Seq>
void plusplus(const double* x, const double* w, std::size_t n, std::size_t k, const Seq& s,
              numpy_random_state& rng, lloyd_workspace& ws, double* centers) {
  const std::size_t B = lloyd_workspace::block_size, SB = lloyd_workspace::super_size;
  std::size_t first;
  if constexpr (Seq::samples) {
    first = s.value(rng.randint(s.n));
  } else {  // choice(n, p=w/sum(w)): searchsorted(cumsum(p)/cdf[-1], u, side="right")
    const double total = ws.W[n], u = rng.random_sample();
    double cdf = 0;
    for (std::size_t i = 0; i < n; ++i) ws.d[i] = cdf += w[i] / total;
    first = std::min(
        n - 1, static_cast<std::size_t>(std::upper_bound(ws.d.begin(), ws.d.begin() + n, u * ws.d[n - 1]) -
                                        ws.d.begin()));
  }
  for (std::size_t i = 0; i < n; ++i) ws.d[i] = (x[i] - x[first]) * (x[i] - x[first]);
  double pot = weighted_sum(w, ws.d.data(), 0, n);
  const std::size_t blocks = (s.n + B - 1) / B;
  ws.block.resize(blocks);
  for (std::size_t b = 0; b < blocks; ++b) {
    double sum = 0;  // in a register: a += into memory would chain store-to-load forwarding
    for (std::size_t e = b * B; e < std::min(s.n, b * B + B); ++e) sum += s.mult(e) * ws.d[s.value(e)];
    ws.block[b] = sum;
  }
  ws.super.resize((blocks + SB - 1) / SB);
  sum_supers(ws);

  ws.sorted.assign(1, x[first]);
  ws.id.assign(1, 0);
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  ws.trial.resize(static_cast<std::size_t>(trials));
  for (std::size_t c = 1; c < k; ++c) {
    for (auto& r : ws.trial) r = rng.random_sample() * pot;  // sklearn draws them all first
    std::size_t best = 0, best_lo = 0, best_hi = 0;
    double best_delta = std::numeric_limits<double>::infinity();
    for (const double r : ws.trial) {
      const std::size_t v = s.value(search(ws, s, r));
      std::size_t lo = 0, hi = 0;
      won_range(x, n, ws.sorted, x[v], lo, hi);
      const double delta = gain(ws, x, n, x[v], lo, hi);  // change of the potential (<= 0)
      if (delta < best_delta) best_delta = delta, best = v, best_lo = lo, best_hi = hi;  // first minimum
    }
    for (std::size_t i = best_lo; i < best_hi; ++i) {
      const double nd = (x[i] - x[best]) * (x[i] - x[best]);
      if (!(nd < ws.d[i])) continue;
      const double diff = nd - ws.d[i];
      ws.d[i] = nd;
      if constexpr (Seq::samples) {
        // A value's blocks come ascending: add each run of one block at once.
        for (std::uint32_t q = ws.at[i]; q < ws.at[i + 1];) {
          const std::uint32_t b = ws.blk[q], q0 = q;
          while (++q < ws.at[i + 1] && ws.blk[q] == b) {
          }
          ws.block[b] += (q - q0) * diff;
        }
      } else {
        ws.block[i / B] += w[i] * diff;
      }
    }
    sum_supers(ws);
    pot += best_delta;
    const auto at = std::upper_bound(ws.sorted.begin(), ws.sorted.end(), x[best]);
    ws.id.insert(ws.id.begin() + (at - ws.sorted.begin()), c);
    ws.sorted.insert(at, x[best]);
  }
  std::copy(ws.sorted.begin(), ws.sorted.end(), centers);
}

/// sklearn's E-step distance less the common |x|^2: |c|^2 - 2 x c, on data
/// centered by their mean m (KMeans.fit subtracts it), products rounded.
inline double sklearn_distance(double x, double c, double m) noexcept {
  const double xm = x - m, cm = c - m;
  return no_contract(cm * cm) + -2.0 * no_contract(xm * cm);
}

/// Cluster c = [ends[c-1], ends[c]): the values nearer to center c. A value
/// exactly at a midpoint goes where sklearn's rounded distances send it, and
/// on equal distances to the center it lists first (argmin's first minimum).
/// Such ties are common in the first pass, where the centers are f16 weights
/// and so are many of their midpoints.
inline void assign(const double* x, std::size_t n, const double* centers, const std::size_t* id,
                   std::size_t k, double m, std::size_t* ends) noexcept {
  for (std::size_t c = 0; c + 1 < k; ++c) {
    const double lo = centers[c], hi = centers[c + 1], mid = 0.5 * (lo + hi);
    std::size_t e = static_cast<std::size_t>(std::upper_bound(x, x + n, mid) - x);
    if (e > 0 && x[e - 1] == mid) {
      const double dl = sklearn_distance(mid, lo, m), dh = sklearn_distance(mid, hi, m);
      if (dh < dl || (dh == dl && id[c + 1] < id[c])) --e;
    }
    ends[c] = e;
  }
  ends[k - 1] = n;
}

/// sklearn's _kmeans_single_lloyd from sorted centers; returns the inertia.
inline double lloyd(const double* x, const double* w, std::size_t n, std::size_t k, const lloyd_params& p,
                    double m, double tol_abs, lloyd_workspace& ws, std::size_t* ends, double* centers) {
  ws.next.resize(k);
  ws.old_ends.assign(k, n + 1);  // no previous labels yet
  for (int it = 0; it < p.max_iter; ++it) {
    assign(x, n, centers, ws.id.data(), k, m, ends);
    double shift = 0;
    for (std::size_t c = 0, b = 0; c < k; b = ends[c], ++c) {
      const double cw = ws.W[ends[c]] - ws.W[b];
      ws.next[c] = cw > 0 ? (ws.S[ends[c]] - ws.S[b]) / cw : centers[c];
    }
    // Empty clusters take the value farthest from its center, as sklearn
    // relocates them (one value each, never the same one twice).
    for (std::size_t c = 0; c < k; ++c) {
      if (ends[c] != (c == 0 ? 0 : ends[c - 1])) continue;
      double far = -1;
      std::size_t fi = 0;
      for (std::size_t d = 0, b = 0; d < k; b = ends[d], ++d)
        for (std::size_t i = b; i < ends[d]; ++i)
          if (const double dist = (x[i] - centers[d]) * (x[i] - centers[d]);
              dist > far && std::find(ws.next.begin(), ws.next.end(), x[i]) == ws.next.end())
            far = dist, fi = i;
      if (far >= 0) ws.next[c] = x[fi];
    }
    for (std::size_t c = 0; c < k; ++c) shift += (ws.next[c] - centers[c]) * (ws.next[c] - centers[c]);
    // Keep the centers ascending with their ids (only a relocation reorders them).
    ws.order.resize(k);
    for (std::size_t c = 0; c < k; ++c) ws.order[c] = c;
    std::stable_sort(ws.order.begin(), ws.order.end(),
                     [&](std::size_t a, std::size_t b) { return ws.next[a] < ws.next[b]; });
    ws.id_next.resize(k);
    for (std::size_t c = 0; c < k; ++c) centers[c] = ws.next[ws.order[c]], ws.id_next[c] = ws.id[ws.order[c]];
    ws.id.swap(ws.id_next);
    if (std::equal(ends, ends + k, ws.old_ends.begin())) break;  // strict convergence
    if (shift <= tol_abs) break;
    std::copy(ends, ends + k, ws.old_ends.begin());
  }
  assign(x, n, centers, ws.id.data(), k, m, ends);  // labels = nearest final center
  double inertia = 0;
  for (std::size_t c = 0, b = 0; c < k; b = ends[c], ++c)
    for (std::size_t i = b; i < ends[c]; ++i) inertia += w[i] * (x[i] - centers[c]) * (x[i] - centers[c]);
  return inertia;
}

}  // namespace lloyd_impl

namespace lloyd_impl {

template <class Seq>
void run(const double* x, const double* w, std::size_t n, std::size_t k, const lloyd_params& p, const Seq& s,
         lloyd_workspace& ws, std::size_t* ends, double* centers) {
  if (k == 0 || k > n) fail("kmeans1d_lloyd: k {} must be in [1, n = {}]", k, n);
  if (p.max_iter < 1 || p.n_init < 1 || !(p.tol >= 0))
    fail("kmeans1d_lloyd: needs max_iter >= 1, n_init >= 1, tol >= 0 (got {}, {}, {})", p.max_iter, p.n_init,
         p.tol);
  numpy_random_state rng(p.seed);
  ws.W.resize(n + 1);
  ws.S.resize(n + 1);
  ws.W[0] = ws.S[0] = 0;
  ws.Q.resize(n + 1);
  ws.Q[0] = 0;
  for (std::size_t i = 0; i < n; ++i)
    ws.W[i + 1] = ws.W[i] + w[i], ws.S[i + 1] = ws.S[i] + w[i] * x[i],
             ws.Q[i + 1] = ws.Q[i] + w[i] * x[i] * x[i];
  const double total = ws.W[n], mean = ws.S[n] / total;
  double var = 0;
  for (std::size_t i = 0; i < n; ++i) var += w[i] * (x[i] - mean) * (x[i] - mean);
  const double tol_abs = p.tol * var / total;  // sklearn: tol * mean(np.var(X, axis=0))

  ws.d.resize(n);
  if constexpr (Seq::samples) {  // per value, the blocks of its samples
    ws.at.resize(n + 1);
    ws.at[0] = 0;
    for (std::size_t i = 0; i < n; ++i) ws.at[i + 1] = ws.at[i] + static_cast<std::uint32_t>(w[i]);  // counts
    if (ws.at[n] != s.n) fail("kmeans1d_lloyd: the counts sum to {}, not to the {} samples", ws.at[n], s.n);
    if (ws.blk_size < s.n) ws.blk.reset(new std::uint32_t[s.n]), ws.blk_size = s.n;
    for (std::size_t e = 0; e < s.n; ++e)
      ws.blk[ws.at[s.value(e)]++] = static_cast<std::uint32_t>(e / lloyd_workspace::block_size);
    for (std::size_t i = n; i > 0; --i) ws.at[i] = ws.at[i - 1];  // restore the starts
    ws.at[0] = 0;
  }
  double best = std::numeric_limits<double>::infinity();
  ws.best_centers.resize(k);
  ws.best_ends.resize(k);
  for (int init = 0; init < p.n_init; ++init) {
    plusplus(x, w, n, k, s, rng, ws, centers);
    const double inertia = lloyd(x, w, n, k, p, mean, tol_abs, ws, ends, centers);
    // sklearn keeps a later run only if it is better AND a different clustering.
    if (init == 0 || (inertia < best && !std::equal(ends, ends + k, ws.best_ends.begin()))) {
      best = inertia;
      std::copy(centers, centers + k, ws.best_centers.begin());
      std::copy(ends, ends + k, ws.best_ends.begin());
    }
  }
  std::copy(ws.best_centers.begin(), ws.best_centers.end(), centers);
  std::copy(ws.best_ends.begin(), ws.best_ends.end(), ends);
}

}  // namespace lloyd_impl

/// k-means++ then Lloyd on the sorted distinct values x[0..n) with weights w,
/// 1 <= k <= n, drawing over the distinct values (sklearn's fit(x,
/// sample_weight=w)). Writes the centers ascending to centers[0..k) and the
/// final nearest-center partition to ends[0..k).
inline void kmeans1d_lloyd(const double* x, const double* w, std::size_t n, std::size_t k,
                           const lloyd_params& p, lloyd_workspace& ws, std::size_t* ends, double* centers) {
  lloyd_impl::run(x, w, n, k, p, lloyd_impl::distinct_sequence{w, n}, ws, ends, centers);
}

/// The same, drawing over `samples` samples in their order, as sklearn's fit
/// on the raw weights does: value_of(e) is the distinct index of sample e
/// (w must be the counts).
template <class ValueOf>
void kmeans1d_lloyd(const double* x, const double* w, std::size_t n, std::size_t k, const lloyd_params& p,
                    lloyd_workspace& ws, std::size_t* ends, double* centers, std::size_t samples,
                    const ValueOf& value_of) {
  if (samples == 0) fail("kmeans1d_lloyd: a sample order of 0 samples");
  lloyd_impl::run(x, w, n, k, p, lloyd_impl::sample_sequence<const ValueOf&>{value_of, samples}, ws, ends,
                  centers);
}

}  // namespace lowbit::detail
