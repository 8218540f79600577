// One LUT group end to end: optional per-channel normalization, the method
// (optimal DP, Lloyd or uniform), the rounded table, the per-weight labels,
// and writing those labels into the shared index stream.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/half.hpp"
#include "lowbit/core/rounding.hpp"
#include "lowbit/format/lut.hpp"
#include "lowbit/quant/lut_kmeans1d.hpp"
#include "lowbit/quant/lut_lloyd.hpp"
#include "lowbit/quant/lut_options.hpp"
#include "lowbit/quant/lut_unique.hpp"

namespace lowbit::detail {

/// double -> L rounded once to nearest even. f16/bf16 go through float with
/// round-to-odd, which makes the second rounding exact (float has more than
/// twice their precision + 2 bits); a plain double->float->f16 can round twice.
template <class L>
L narrow(double d) noexcept {
  float f = static_cast<float>(d);
  if constexpr (std::is_same_v<L, float>) {
    return f;
  } else {
    if (static_cast<double>(f) != d && std::isfinite(f)) {
      std::uint32_t b = std::bit_cast<std::uint32_t>(f);
      if (std::fabs(static_cast<double>(f)) > std::fabs(d)) --b;  // truncate toward zero
      f = std::bit_cast<float>(b | 1u);                           // sticky bit
    }
    return L(f);
  }
}

/// Per-channel divisors s = max|W| over the channel (0 -> 1), rounded to L and
/// written to `scales_out`; returns them as floats (what the group divides by).
template <class T, class L>
std::vector<float> channel_scales(const T* w, std::size_t rows, std::size_t cols, std::size_t experts,
                                  lut_channel_scale mode, L* scales_out) {
  if (mode == lut_channel_scale::none) return {};
  const bool per_row = mode == lut_channel_scale::output_rows;
  std::vector<float> m(experts * (per_row ? rows : cols), 0.0f);
  for (std::size_t e = 0; e < experts; ++e)
    for (std::size_t r = 0; r < rows; ++r) {
      const T* row = w + (e * rows + r) * cols;
      float* dst = per_row ? &m[e * rows + r] : &m[e * cols];
      for (std::size_t c = 0; c < cols; ++c) {
        float& s = per_row ? *dst : dst[c];
        s = std::max(s, std::fabs(to_float(row[c])));
      }
    }
  for (std::size_t i = 0; i < m.size(); ++i) {
    L s = from_float<L>(m[i] == 0.0f ? 1.0f : m[i]);
    if (to_float(s) == 0.0f) s = from_float<L>(1.0f);  // below L's smallest subnormal
    if (!std::isfinite(to_float(s)))
      fail("lut_quantize: per-channel scale {} of channel {} is not finite in {}", m[i], i, dtype_name<L>());
    scales_out[i] = s;
    m[i] = to_float(s);
  }
  return m;
}

/// Writes n labels as indices [first, first + n) of the zeroed stream. Bytes
/// shared with a neighbouring group (only when first*bits or the end is not
/// byte-aligned) are OR-ed atomically, so groups can be packed in parallel.
inline void pack_group_indices(const std::uint8_t* labels, std::size_t n, std::size_t first, int bits,
                               std::uint8_t* stream) noexcept {
  if (n == 0) return;
  const std::size_t p = first * static_cast<std::size_t>(bits);
  std::size_t byte = p >> 3;
  const unsigned off = static_cast<unsigned>(p & 7);
  if (bits == 8) {
    std::memcpy(stream + byte, labels, n);
    return;
  }
  if (off == 0 && (bits == 1 || bits == 2 || bits == 4) && n >= 8 / static_cast<std::size_t>(bits)) {
    // Whole bytes of 8/bits indices, then the tail (which shares its byte) below.
    const std::size_t per = 8 / static_cast<std::size_t>(bits), whole = n / per;
    for (std::size_t b = 0; b < whole; ++b) {
      unsigned v = 0;
      for (std::size_t t = 0; t < per; ++t) v |= static_cast<unsigned>(labels[b * per + t]) << (t * bits);
      stream[byte + b] = static_cast<std::uint8_t>(v);
    }
    labels += whole * per;
    n -= whole * per;
    byte += whole;
    if (n == 0) return;
  }
  auto shared_or = [&](std::size_t at, std::uint8_t v) {
    std::atomic_ref<std::uint8_t>(stream[at]).fetch_or(v, std::memory_order_relaxed);
  };
  std::uint64_t acc = 0;
  unsigned have = off;  // the low `off` bits of the first byte belong to the previous group
  bool first_byte = true;
  for (std::size_t e = 0; e < n; ++e) {
    acc |= static_cast<std::uint64_t>(labels[e]) << have;
    have += static_cast<unsigned>(bits);
    while (have >= 8) {
      const auto v = static_cast<std::uint8_t>(acc);
      if (first_byte && off != 0)
        shared_or(byte, v);
      else
        stream[byte] = v;
      ++byte;
      acc >>= 8;
      have -= 8;
      first_byte = false;
    }
  }
  if (have > 0) shared_or(byte, static_cast<std::uint8_t>(acc));  // shared with the next group
}

/// Solves one group at a time; keeps its scratch memory between groups.
template <class T>
class lut_group_solver {
 public:
  /// Builds the LUT of one group. w: the group's rows x cols weights; row_div
  /// / col_div: per-channel divisors for its rows / for the columns, or
  /// nullptr. Then emit() writes the indices.
  template <class L>
  void run(const lut_format& f, const lut_options& o, const T* w, std::size_t rows, std::size_t cols,
           const float* row_div, const float* col_div, L* lut) {
    const std::size_t entries = lut_entries(f);
    n_ = rows * cols;
    data_ = normalized(w, rows, cols, row_div, col_div);
    uniform_ = o.method == lut_method::uniform;
    if (uniform_) {
      uniform(data_, n_, f.bits, lut);
      return;
    }
    values_.collect(data_, n_, gv_, "lut_quantize");
    const std::size_t u = gv_.size(), k = std::min(u, entries);
    ends_.resize(k);
    centers_.resize(k);
    if (u <= entries) {  // every distinct value is its own centroid (exact)
      for (std::size_t c = 0; c < k; ++c) ends_[c] = c + 1, centers_[c] = gv_.x[c];
    } else if (o.method == lut_method::kmeans_optimal) {
      kmeans1d_optimal(gv_.x.data(), gv_.w.data(), u, k, dp_, ends_.data());
      for (std::size_t c = 0, b = 0; c < k; b = ends_[c], ++c) {
        double sw = 0, swx = 0;
        for (std::size_t i = b; i < ends_[c]; ++i) sw += gv_.w[i], swx += gv_.w[i] * gv_.x[i];
        centers_[c] = swx / sw;
      }
    } else {
      // sklearn's draws follow the samples in their order: each sample's distinct-value index.
      ends_.resize(u);
      for (std::size_t c = 0; c < u; ++c) ends_[c] = c + 1;
      values_.set_labels(ends_.data(), u);
      ends_.resize(k);
      const lloyd_params p{o.seed, o.max_iter, o.tol, o.n_init};
      if constexpr (sizeof(T) == 2) {  // one table load per lookup: no per-weight array
        kmeans1d_lloyd(gv_.x.data(), gv_.w.data(), u, k, p, lloyd_, ends_.data(), centers_.data(), n_,
                       [this](std::size_t e) { return values_.label(data_[e]); });
      } else {  // float labels are binary searches: look each up once
        sample_value_.resize(n_);
        for (std::size_t i = 0; i < n_; ++i) sample_value_[i] = values_.label(data_[i]);
        kmeans1d_lloyd(gv_.x.data(), gv_.w.data(), u, k, p, lloyd_, ends_.data(), centers_.data(), n_,
                       [this](std::size_t e) { return sample_value_[e]; });
      }
    }
    for (std::size_t c = 0; c < entries; ++c) lut[c] = c < k ? narrow<L>(centers_[c]) : from_float<L>(0.0f);
    values_.set_labels(ends_.data(), k);
  }

  /// Writes the group's indices as stream indices [first, first + n); chunks
  /// of 32768 weights run as tasks of `ex` (they only read the label table).
  /// Frees the buffers a large group left above `keep` bytes (per-tensor
  /// groups: the DP's argmin table, the samples' block lists); the rest stays
  /// for the next call on this thread.
  void trim(std::size_t keep = std::size_t{8} << 20) {
    auto shrink = [keep](auto& v) {
      if (v.capacity() * sizeof(v[0]) > keep) {
        v.clear();
        v.shrink_to_fit();
      }
    };
    shrink(dp_.opt);
    shrink(dp_.E_prev);
    shrink(dp_.E_cur);
    shrink(sample_value_);
    shrink(scaled_);
    if (lloyd_.blk_size * sizeof(std::uint32_t) > keep) lloyd_.blk.reset(), lloyd_.blk_size = 0;
  }

  void emit(std::size_t first, int bits, std::uint8_t* stream, const executor& ex) {
    constexpr std::size_t chunk = 32768;
    ex.parallel_for((n_ + chunk - 1) / chunk, [&](std::size_t c) {
      std::uint8_t labels[chunk];
      const std::size_t b = c * chunk, e = std::min(n_, b + chunk);
      if (uniform_) {
        for (std::size_t i = b; i < e; ++i) labels[i - b] = uniform_label(data_[i]);
      } else {
        for (std::size_t i = b; i < e; ++i)
          labels[i - b] = static_cast<std::uint8_t>(values_.label(data_[i]));
      }
      pack_group_indices(labels, e - b, first + b, bits, stream);
    });
    if (!uniform_) values_.release();
  }

 private:
  const T* normalized(const T* w, std::size_t rows, std::size_t cols, const float* row_div,
                      const float* col_div) {
    if (row_div == nullptr && col_div == nullptr) return w;
    scaled_.resize(rows * cols);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c)
        scaled_[r * cols + c] =
            from_float<T>(to_float(w[r * cols + c]) / (row_div != nullptr ? row_div[r] : col_div[c]));
    return scaled_.data();
  }

  /// coremltools' uniform mode, with numpy's dtype rules: the index math runs
  /// in T (each op rounded to T), the table in float64.
  template <class L>
  void uniform(const T* data, std::size_t n, int bits, L* lut) {
    float lo = to_float(data[0]), hi = lo;
    for (std::size_t e = 1; e < n; ++e) {
      const float v = to_float(data[e]);
      if (!std::isfinite(v)) fail("lut_quantize: weights contain NaN or Inf");
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    if (!std::isfinite(lo)) fail("lut_quantize: weights contain NaN or Inf");
    steps_ = (1 << bits) - 1;
    lo_ = lo;
    range_ = round_to<T>(hi - lo);
    if (range_ == 0.0f || !std::isfinite(range_)) {  // constant group: coremltools would divide 0/0
      for (int i = 0; i <= steps_; ++i) lut[i] = narrow<L>(lo);
      range_ = 0.0f;
      return;
    }
    const double scale = static_cast<double>(range_) / steps_;
    for (int i = 0; i <= steps_; ++i)
      lut[i] = narrow<L>(lowbit::detail::no_contract(i * scale) + static_cast<double>(lo));
  }

  std::uint8_t uniform_label(T v) const noexcept {
    if (range_ == 0.0f) return 0;
    const float t =
        round_to<T>(round_to<T>(round_to<T>(to_float(v) - lo_) / range_) * static_cast<float>(steps_));
    return static_cast<std::uint8_t>(std::clamp(std::nearbyint(t), 0.0f, static_cast<float>(steps_)));
  }

  value_labels<T> values_;
  group_values gv_;
  kmeans1d_workspace dp_;
  lloyd_workspace lloyd_;
  std::vector<std::size_t> ends_;
  std::vector<std::uint32_t> sample_value_;
  std::vector<double> centers_;
  std::vector<T> scaled_;
  const T* data_ = nullptr;
  std::size_t n_ = 0;
  bool uniform_ = false;
  float lo_ = 0.0f, range_ = 0.0f;
  int steps_ = 0;
};

/// Runs fn(solver) with this thread's cached solver: a fresh one costs ~12 %
/// of a g32 matrix (page faults and zeroing of its 1 MiB value table and DP
/// buffers, which also serialize threads on the kernel's mm lock). A fresh
/// one is used while the cached one is busy (an executor running another
/// task on this thread inside a nested wait); after an exception the cached
/// one is rebuilt (its value table may still hold counts).
template <class T, class F>
void with_thread_solver(F&& fn) {
  struct slot {
    lut_group_solver<T> solver;
    bool busy = false;
  };
  thread_local slot s;
  if (s.busy) {
    lut_group_solver<T> fresh;
    fn(fresh);
    return;
  }
  s.busy = true;
  try {
    fn(s.solver);
  } catch (...) {
    s.solver = lut_group_solver<T>();
    s.busy = false;
    throw;
  }
  s.solver.trim();
  s.busy = false;
}

}  // namespace lowbit::detail
