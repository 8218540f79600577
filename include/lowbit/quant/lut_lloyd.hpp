// coremltools' sklearn recipe for LUTs it cannot give to kmeans1d:
// KMeans(init="k-means++", n_init=1, tol=1e-2, max_iter=300, algorithm
// "lloyd"), i.e. greedy k-means++ with 2 + floor(ln k) local trials, then
// Lloyd iterations that stop when the labels repeat or the squared center
// shift falls to tol * variance (research/lut.md §1.2).
//
// It runs on the distinct values weighted by their counts, which is the same
// algorithm as sklearn's on the raw values (the same sampling distribution,
// means and stopping rule) at a fraction of the cost; in 1-D both steps are
// interval arithmetic on prefix sums: a k-means++ candidate only changes the
// distances between its two neighbouring centers, and a Lloyd assignment is
// k-1 binary searches for the midpoints between sorted centers.
// Not bit-identical to sklearn: the random stream is lowbit's own
// (xoshiro256** seeded by splitmix64), so the LUTs differ draw by draw.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "lowbit/core/error.hpp"

namespace lowbit::detail {

/// xoshiro256** (Blackman & Vigna) seeded through splitmix64: small, fast and
/// identical on every platform, unlike the std:: distributions.
class lut_rng {
 public:
  explicit lut_rng(std::uint64_t seed) noexcept {
    for (auto& s : s_) {
      seed += 0x9e3779b97f4a7c15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      s = z ^ (z >> 31);
    }
  }
  std::uint64_t next() noexcept {
    const std::uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

struct lloyd_workspace {
  std::vector<double> W, S;   // prefix counts and sums of x
  std::vector<double> wd;     // count * squared distance to the nearest center
  std::vector<double> block;  // sums of wd over blocks of `block_size` values
  std::vector<double> next;   // centers being updated
  std::vector<std::size_t> old_ends;
  static constexpr std::size_t block_size = 64;
};

namespace lloyd_impl {

/// First index whose cumulative weighted distance reaches r (np.searchsorted,
/// side "left", over the cumulative sums), clipped to n - 1.
inline std::size_t sample(const lloyd_workspace& ws, std::size_t n, double r) noexcept {
  const std::size_t B = lloyd_workspace::block_size;
  double cum = 0;
  std::size_t b = 0;
  for (; b + 1 < ws.block.size() && cum + ws.block[b] < r; ++b) cum += ws.block[b];
  for (std::size_t i = b * B; i < std::min(n, b * B + B); ++i) {
    cum += ws.wd[i];
    if (cum >= r) return i;
  }
  return n - 1;
}

/// Values strictly between the centers around x (the only ones a new center at x can win).
inline void affected_range(const double* x, std::size_t n, const std::vector<double>& sorted_centers,
                           double c, std::size_t& first, std::size_t& last) noexcept {
  const auto up = std::upper_bound(sorted_centers.begin(), sorted_centers.end(), c);
  first =
      up == sorted_centers.begin() ? 0 : static_cast<std::size_t>(std::upper_bound(x, x + n, *(up - 1)) - x);
  last = up == sorted_centers.end() ? n : static_cast<std::size_t>(std::lower_bound(x, x + n, *up) - x);
}

/// Cluster c = [ends[c-1], ends[c]): values up to the midpoint go to the lower center.
inline void assign(const double* x, std::size_t n, const double* centers, std::size_t k,
                   std::size_t* ends) noexcept {
  for (std::size_t c = 0; c + 1 < k; ++c)
    ends[c] = static_cast<std::size_t>(std::upper_bound(x, x + n, 0.5 * (centers[c] + centers[c + 1])) - x);
  ends[k - 1] = n;
}

}  // namespace lloyd_impl

/// k-means++ then Lloyd on the sorted distinct values x[0..n) with counts w,
/// 1 <= k <= n. Writes the centers ascending to centers[0..k) and the final
/// nearest-center partition to ends[0..k).
inline void kmeans1d_lloyd(const double* x, const double* w, std::size_t n, std::size_t k, std::uint64_t seed,
                           int max_iter, double tol, lloyd_workspace& ws, std::size_t* ends,
                           double* centers) {
  using namespace lloyd_impl;
  if (k == 0 || k > n) fail("kmeans1d_lloyd: k {} must be in [1, n = {}]", k, n);
  const std::size_t B = lloyd_workspace::block_size;
  ws.W.resize(n + 1);
  ws.S.resize(n + 1);
  ws.W[0] = ws.S[0] = 0;
  for (std::size_t i = 0; i < n; ++i) ws.W[i + 1] = ws.W[i] + w[i], ws.S[i + 1] = ws.S[i] + w[i] * x[i];
  const double total = ws.W[n], mean = ws.S[n] / total;
  double var = 0;
  for (std::size_t i = 0; i < n; ++i) var += w[i] * (x[i] - mean) * (x[i] - mean);
  const double tol_abs = tol * var / total;  // sklearn: tol * mean(np.var(X, axis=0))

  // k-means++: the first center is a uniformly drawn sample (a value drawn
  // with probability count / total), then greedy D^2 sampling.
  lut_rng rng(seed);
  std::vector<double> sorted;  // centers chosen so far, ascending
  sorted.reserve(k);
  const double r0 = rng.uniform() * total;
  const std::size_t first = std::min(
      n - 1,
      static_cast<std::size_t>(std::upper_bound(ws.W.begin() + 1, ws.W.end(), r0) - (ws.W.begin() + 1)));
  sorted.push_back(x[first]);
  ws.wd.resize(n);
  ws.block.assign((n + B - 1) / B, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    ws.wd[i] = w[i] * (x[i] - x[first]) * (x[i] - x[first]);
    ws.block[i / B] += ws.wd[i];
  }
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  for (std::size_t c = 1; c < k; ++c) {
    double pot = 0;
    for (const double b : ws.block) pot += b;
    std::size_t best = 0, best_lo = 0, best_hi = 0;
    double best_gain = std::numeric_limits<double>::infinity();
    for (int t = 0; t < trials; ++t) {
      const std::size_t cand = sample(ws, n, rng.uniform() * pot);
      std::size_t lo = 0, hi = 0;
      affected_range(x, n, sorted, x[cand], lo, hi);
      double delta = 0;  // change of the potential if cand becomes a center (<= 0)
      for (std::size_t i = lo; i < hi; ++i) {
        const double d = w[i] * (x[i] - x[cand]) * (x[i] - x[cand]);
        delta += std::min(0.0, d - ws.wd[i]);
      }
      if (delta < best_gain) best_gain = delta, best = cand, best_lo = lo, best_hi = hi;
    }
    for (std::size_t i = best_lo; i < best_hi; ++i)
      ws.wd[i] = std::min(ws.wd[i], w[i] * (x[i] - x[best]) * (x[i] - x[best]));
    for (std::size_t b = best_lo / B; b < ws.block.size() && b * B < best_hi; ++b) {
      double s = 0;
      for (std::size_t i = b * B; i < std::min(n, b * B + B); ++i) s += ws.wd[i];
      ws.block[b] = s;
    }
    sorted.insert(std::upper_bound(sorted.begin(), sorted.end(), x[best]), x[best]);
  }
  std::copy(sorted.begin(), sorted.end(), centers);

  // Lloyd.
  ws.next.resize(k);
  ws.old_ends.assign(k, n + 1);  // no previous labels yet
  for (int it = 0; it < max_iter; ++it) {
    assign(x, n, centers, k, ends);
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
    std::copy(ws.next.begin(), ws.next.end(), centers);
    std::sort(centers, centers + k);
    if (std::equal(ends, ends + k, ws.old_ends.begin())) break;  // strict convergence
    if (shift <= tol_abs) break;
    std::copy(ends, ends + k, ws.old_ends.begin());
  }
  assign(x, n, centers, k, ends);  // labels = nearest final center
}

}  // namespace lowbit::detail
