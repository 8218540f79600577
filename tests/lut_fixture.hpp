// The LUT kernel tests' matrix: random indices (bit-packed the plain way by
// lut_test_util.hpp), a shuffled table per group, optional per-channel scales,
// and the plain definition of every weight.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "lowbit/format/lut.hpp"
#include "lut_test_util.hpp"

namespace lut_test {

using namespace lowbit;

template <class L>
struct fixture {
  std::size_t experts, rows, cols;
  lut_format f;
  std::vector<std::uint8_t> idx, stream;
  std::vector<L> lut, scales;
  lut_channel_scale mode = lut_channel_scale::none;

  fixture(std::size_t e, std::size_t r, std::size_t c, lut_format fmt, lut_channel_scale m, unsigned seed)
      : experts(e), rows(r), cols(c), f(fmt), mode(m) {
    std::mt19937 rng(seed);
    idx.resize(e * r * c);
    for (auto& v : idx) v = static_cast<std::uint8_t>(rng() % lut_entries(f));
    stream = lut_test::pack_bitwise(idx, f.bits);
    // A shuffled table: readers must not assume sorted entries (sklearn's are not).
    lut.resize(lut_groups(f, r, e) * lut_entries(f));
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (auto& v : lut) v = entry(u(rng));
    scales.resize(lut_scale_count(m, r, c, e));
    for (auto& v : scales) v = entry(0.5f + std::fabs(u(rng)));
  }
  static L entry(float v) {
    if constexpr (std::is_same_v<L, std::int8_t>)
      return static_cast<std::int8_t>(std::lround(v * 100));
    else
      return from_float<L>(v);
  }
  static float value(L v) {
    if constexpr (std::is_same_v<L, std::int8_t>)
      return v;
    else
      return to_float(v);
  }
  lut_matrix<L> view() const {
    lut_matrix<L> w{stream.data(), lut.data(), rows, cols, f, experts};
    w.scales = scales.empty() ? nullptr : scales.data();
    w.channel_scale = mode;
    return w;
  }
  /// The plain definition of weight (stacked row, col).
  float weight(std::size_t row, std::size_t c) const {
    const std::size_t grows = f.group_size == 0 ? rows : f.group_size;
    float v = value(lut[(row / grows) * lut_entries(f) + idx[row * cols + c]]);
    if (mode == lut_channel_scale::output_rows) v = v * value(scales[row]);
    if (mode == lut_channel_scale::input_columns) v = v * value(scales[(row / rows) * cols + c]);
    return v;
  }
};

}  // namespace lut_test
