// The distinct values of one LUT group with their counts (what np.unique with
// return_counts gives coremltools), and the map from a weight back to its
// cluster label. 16-bit weights (f16, bf16) never need a sort: a 65536-entry
// counting table indexed by an order-preserving key of the bit pattern yields
// the sorted distinct values in one pass, and the same table later maps each
// weight to its label with one load. float weights are sorted by key.
// -0 and +0 are one value (np.unique compares values); NaN/Inf are rejected.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/half.hpp"

namespace lowbit::detail {

/// Order-preserving unsigned keys: key(a) < key(b) iff a < b (finite values).
constexpr std::uint16_t ordered_key(std::uint16_t bits) noexcept {
  if (bits == 0x8000u) bits = 0;  // -0 == +0
  return static_cast<std::uint16_t>((bits & 0x8000u) ? ~bits : (bits | 0x8000u));
}
constexpr std::uint32_t ordered_key(std::uint32_t bits) noexcept {
  if (bits == 0x80000000u) bits = 0;
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}
constexpr std::uint16_t key_to_bits(std::uint16_t key) noexcept {
  return static_cast<std::uint16_t>((key & 0x8000u) ? (key & 0x7fffu) : ~key);
}
constexpr std::uint32_t key_to_bits(std::uint32_t key) noexcept {
  return (key & 0x80000000u) ? (key & 0x7fffffffu) : ~key;
}

template <class T>
constexpr auto bits_of(T v) noexcept {
  if constexpr (std::is_same_v<T, float>)
    return std::bit_cast<std::uint32_t>(v);
  else
    return v.bits;
}
template <class T>
constexpr T from_bits_of(decltype(bits_of(T{})) b) noexcept {
  if constexpr (std::is_same_v<T, float>)
    return std::bit_cast<float>(b);
  else
    return T::from_bits(b);
}

/// Sorted distinct values of a group (as double) and their counts.
struct group_values {
  std::vector<double> x, w;
  [[nodiscard]] std::size_t size() const noexcept { return x.size(); }
};

/// Per-thread helper: collect(), then set_labels() once clusters are known,
/// then label() per weight, then release() before the next group.
template <class T>
class value_labels;

/// f16 / bf16: the counting table.
template <class T>
requires(sizeof(T) == 2) class value_labels<T> {
 public:
  value_labels() : table_(4 * 65536, 0) {}

  void collect(const T* v, std::size_t n, group_values& out, const char* who) {
    std::uint32_t* t = table_.data();
    std::uint32_t lo = 0xffffu, hi = 0;
    const auto* h = reinterpret_cast<const std::uint16_t*>(v);
    std::size_t e = 0;
    if (n >= 8192) {
      // Four tables: runs of equal keys (common near 0) would otherwise
      // serialize on store-to-load forwarding of one counter (~8x slower).
      std::uint32_t lo1 = lo, hi1 = hi;
      for (; e + 4 <= n; e += 4) {
        const std::uint32_t k0 = raw_key(h[e]), k1 = raw_key(h[e + 1]), k2 = raw_key(h[e + 2]),
                            k3 = raw_key(h[e + 3]);
        ++t[k0];
        ++t[65536 + k1];
        ++t[2 * 65536 + k2];
        ++t[3 * 65536 + k3];
        lo = std::min(lo, std::min(k0, k1));
        hi = std::max(hi, std::max(k0, k1));
        lo1 = std::min(lo1, std::min(k2, k3));
        hi1 = std::max(hi1, std::max(k2, k3));
      }
      lo = std::min(lo, lo1);
      hi = std::max(hi, hi1);
      split_ = true;
    }
    for (; e < n; ++e) {
      const std::uint32_t k = raw_key(h[e]);
      ++t[k];
      lo = std::min(lo, k);
      hi = std::max(hi, k);
    }
    // Merge the tables and compact the occupied keys without branches (the
    // table is ~30% full on LLM weights, where a branch would mispredict).
    keys_.resize(hi - lo + 1);
    std::size_t u = 0;
    for (std::uint32_t k = lo; k <= hi; ++k) {
      if (split_) {
        t[k] += t[65536 + k] + t[2 * 65536 + k] + t[3 * 65536 + k];
        t[65536 + k] = t[2 * 65536 + k] = t[3 * 65536 + k] = 0;
      }
      keys_[u] = static_cast<std::uint16_t>(k);
      u += t[k] != 0;
    }
    split_ = false;
    keys_.resize(u);
    // -0 (raw key 0x7fff) and +0 (0x8000) are one value, as np.unique has it.
    neg_zero_ = t[0x7fff] != 0 && t[0x8000] != 0;
    if (neg_zero_) {
      t[0x8000] += t[0x7fff];
      keys_.erase(std::find(keys_.begin(), keys_.end(), std::uint16_t{0x7fff}));
      --u;
    }
    out.x.resize(u);
    out.w.resize(u);
    for (std::size_t i = 0; i < u; ++i) {
      out.x[i] = static_cast<double>(static_cast<float>(T::from_bits(key_to_bits(keys_[i]))));
      out.w[i] = static_cast<double>(t[keys_[i]]);
    }
    if (!std::isfinite(out.x.front()) || !std::isfinite(out.x.back())) {
      release();
      fail("{}: weights contain NaN or Inf", who);
    }
  }

  /// Cluster c holds distinct values [ends[c-1], ends[c]).
  void set_labels(const std::size_t* ends, std::size_t k) {
    std::size_t b = 0;
    for (std::size_t c = 0; c < k; ++c) {
      for (std::size_t i = b; i < ends[c]; ++i) table_[keys_[i]] = static_cast<std::uint32_t>(c);
      b = ends[c];
    }
    if (neg_zero_) table_[0x7fff] = table_[0x8000];
  }

  [[nodiscard]] std::uint32_t label(T v) const noexcept { return table_[raw_key(v.bits)]; }

  void release() noexcept {
    for (const std::uint16_t k : keys_) table_[k] = 0;
    table_[0x7fff] = 0;
    keys_.clear();
  }

 private:
  /// ordered_key without the -0 fold (done once per group instead).
  static std::uint32_t raw_key(std::uint16_t b) noexcept {
    return b ^ (0x8000u | ((0u - (static_cast<std::uint32_t>(b) >> 15)) & 0x7fffu));
  }

  std::vector<std::uint32_t> table_;  // 4 count tables; then table 0 holds labels; zero between groups
  std::vector<std::uint16_t> keys_;   // occupied keys, ascending
  bool split_ = false, neg_zero_ = false;
};

/// float: sort the keys; labels by binary search over the clusters' last keys.
template <>
class value_labels<float> {
 public:
  void collect(const float* v, std::size_t n, group_values& out, const char* who) {
    keys_.resize(n);
    for (std::size_t e = 0; e < n; ++e) keys_[e] = ordered_key(std::bit_cast<std::uint32_t>(v[e]));
    std::sort(keys_.begin(), keys_.end());
    out.x.clear();
    out.w.clear();
    for (std::size_t e = 0; e < n;) {
      std::size_t f = e + 1;
      while (f < n && keys_[f] == keys_[e]) ++f;
      keys_[out.x.size()] = keys_[e];
      out.x.push_back(static_cast<double>(std::bit_cast<float>(key_to_bits(keys_[e]))));
      out.w.push_back(static_cast<double>(f - e));
      e = f;
    }
    keys_.resize(out.x.size());
    if (!std::isfinite(out.x.front()) || !std::isfinite(out.x.back()))
      fail("{}: weights contain NaN or Inf", who);
  }

  void set_labels(const std::size_t* ends, std::size_t k) {
    last_.resize(k);
    for (std::size_t c = 0; c < k; ++c) last_[c] = keys_[ends[c] - 1];
  }

  [[nodiscard]] std::uint32_t label(float v) const noexcept {
    const std::uint32_t key = ordered_key(std::bit_cast<std::uint32_t>(v));
    return static_cast<std::uint32_t>(std::lower_bound(last_.begin(), last_.end() - 1, key) - last_.begin());
  }

  void release() noexcept {}

 private:
  std::vector<std::uint32_t> keys_;  // sorted keys, then the distinct keys
  std::vector<std::uint32_t> last_;  // largest key of each cluster
};

}  // namespace lowbit::detail
