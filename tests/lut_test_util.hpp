// Independent helpers for the LUT tests: written the plain way, sharing no
// code with the library beyond the f16/bf16 storage types.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "lowbit/core/half.hpp"

namespace lut_test {

/// Stream bit p = i*bits + b holds bit b of index i, at byte p/8, bit p%8.
inline std::vector<std::uint8_t> pack_bitwise(const std::vector<std::uint8_t>& idx, int bits) {
  std::vector<std::uint8_t> out((idx.size() * bits + 7) / 8, 0);
  for (std::size_t i = 0; i < idx.size(); ++i)
    for (int b = 0; b < bits; ++b) {
      const std::size_t p = i * bits + b;
      if ((idx[i] >> b) & 1) out[p / 8] |= static_cast<std::uint8_t>(1u << (p % 8));
    }
  return out;
}

inline std::vector<std::uint8_t> unpack_bitwise(const std::uint8_t* s, std::size_t n, int bits) {
  std::vector<std::uint8_t> idx(n, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (int b = 0; b < bits; ++b) {
      const std::size_t p = i * bits + b;
      if ((s[p / 8] >> (p % 8)) & 1) idx[i] |= static_cast<std::uint8_t>(1u << b);
    }
  return idx;
}

/// The f16 nearest to v (ties to the even code), by looking at neighbours.
inline lowbit::f16 nearest_f16(long double v) {
  lowbit::f16 best = lowbit::f16(static_cast<float>(v));
  long double bd = std::fabs(static_cast<long double>(static_cast<float>(best)) - v);
  for (int d = -2; d <= 2; ++d) {
    const auto cand = lowbit::f16::from_bits(static_cast<std::uint16_t>(best.bits + d));
    const long double cv = static_cast<float>(cand);
    if (!std::isfinite(static_cast<double>(cv)) || (cand.bits & 0x7c00) == 0x7c00) continue;
    const long double cd = std::fabs(cv - v);
    if (cd < bd || (cd == bd && (cand.bits & 1) == 0 && cand.bits != best.bits)) best = cand, bd = cd;
  }
  return best;
}

/// Distinct values (as long double, -0 == +0) and their counts.
template <class T>
void distinct(const T* w, std::size_t n, std::vector<long double>& x, std::vector<long double>& c) {
  std::map<long double, long double> m;
  for (std::size_t i = 0; i < n; ++i) m[static_cast<long double>(static_cast<float>(w[i])) + 0.0L] += 1;
  x.clear();
  c.clear();
  for (const auto& [v, k] : m) x.push_back(v), c.push_back(k);
}
inline void distinct(const float* w, std::size_t n, std::vector<long double>& x,
                     std::vector<long double>& c) {
  std::map<long double, long double> m;
  for (std::size_t i = 0; i < n; ++i) m[static_cast<long double>(w[i]) + 0.0L] += 1;
  x.clear();
  c.clear();
  for (const auto& [v, k] : m) x.push_back(v), c.push_back(k);
}

/// Optimal weighted k-means cost by the textbook O(k n^2) DP (no pruning).
inline long double optimal_cost(const std::vector<long double>& x, const std::vector<long double>& w,
                                std::size_t k) {
  const std::size_t n = x.size();
  if (k >= n) return 0;
  std::vector<long double> W(n + 1, 0), S(n + 1, 0), Q(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i)
    W[i + 1] = W[i] + w[i], S[i + 1] = S[i] + w[i] * x[i], Q[i + 1] = Q[i] + w[i] * x[i] * x[i];
  auto cost = [&](std::size_t j, std::size_t i) {
    const long double s = S[i] - S[j];
    return Q[i] - Q[j] - s * s / (W[i] - W[j]);
  };
  const long double inf = std::numeric_limits<long double>::infinity();
  std::vector<long double> prev(n + 1, inf), cur(n + 1, inf);
  for (std::size_t i = 1; i <= n; ++i) prev[i] = cost(0, i);
  for (std::size_t m = 2; m <= k; ++m) {
    std::fill(cur.begin(), cur.end(), inf);
    for (std::size_t i = m; i <= n; ++i)
      for (std::size_t j = m - 1; j < i; ++j) cur[i] = std::min(cur[i], prev[j] + cost(j, i));
    std::swap(prev, cur);
  }
  return prev[n];
}

/// Sum of squared distances of w to the mean of its label's members (the
/// k-means cost of the partition the labels define, centroids unrounded).
template <class T>
long double partition_cost(const T* w, const std::uint8_t* labels, std::size_t n) {
  long double sum[256] = {}, cnt[256] = {};
  for (std::size_t i = 0; i < n; ++i) sum[labels[i]] += static_cast<float>(w[i]), cnt[labels[i]] += 1;
  long double c = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const long double d = static_cast<float>(w[i]) - sum[labels[i]] / cnt[labels[i]];
    c += d * d;
  }
  return c;
}

/// LLM-like weights: Student-t(5)-ish values of std ~0.02 rounded to T.
template <class T>
std::vector<T> llm_weights(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> t(5.0f);
  std::vector<T> w(n);
  for (auto& v : w) v = lowbit::from_float<T>(t(rng) * 0.0155f);
  return w;
}

}  // namespace lut_test
