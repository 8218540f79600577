// Properties of quantize -> dequantize on random shapes and values, checked
// with independent arithmetic (double precision, brute-force nearest code).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "lowbit/lowbit.hpp"

using lowbit::quant_format;
using lowbit::quant_mode;

TEST_CASE("affine: every weight lands on its nearest grid point, or is clamped at the grid's end") {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 60; ++trial) {
    const int bits = std::vector<int>{2, 3, 4, 5, 6, 8}[trial % 6];
    const int gs = std::vector<int>{32, 64, 128}[(trial / 6) % 3];
    const std::size_t rows = 1 + rng() % 9, cols = static_cast<std::size_t>(gs) * (1 + rng() % 4);
    const float spread = std::ldexp(1.0f, static_cast<int>(rng() % 20) - 10);
    const float offset = std::uniform_real_distribution<float>(-2, 2)(rng) * spread * float(trial % 3 == 0);
    std::vector<float> w(rows * cols);
    for (auto& v : w) v = offset + spread * std::uniform_real_distribution<float>(-1, 1)(rng);
    const quant_format f{quant_mode::affine, bits, gs};
    std::vector<std::uint32_t> packed(rows * cols * bits / 32);
    std::vector<float> scales(rows * cols / gs), biases(rows * cols / gs), out(rows * cols);
    lowbit::quantize(f, w.data(), rows, cols, packed.data(), scales.data(), biases.data());
    lowbit::dequantize(lowbit::qmatrix<float>{packed.data(), scales.data(), biases.data(), rows, cols, f},
                       out.data());
    const int n_bins = (1 << bits) - 1;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double s = scales[i / gs], b = biases[i / gs];
      // Position of w on the grid b + s*q, q in [0, n_bins], computed in double.
      const double pos = (double(w[i]) - b) / s;
      const double err = std::fabs(double(out[i]) - w[i]);
      const double tol = std::fabs(s) * (0.5 + 1e-4) + 1e-6 * std::fabs(double(w[i]));
      if (pos >= -0.5 && pos <= n_bins + 0.5) {
        REQUIRE_MESSAGE(err <= tol, "bits " << bits << " gs " << gs << " i " << i << " pos " << pos);
      } else {  // beyond the grid: clamped to the nearest end
        const double end = pos < 0 ? b : b + s * n_bins;
        REQUIRE(std::fabs(double(out[i]) - end) <= 1e-6 * (std::fabs(b) + std::fabs(s) * n_bins));
      }
    }
    // The larger-magnitude extreme of each group is the bias and is reproduced exactly.
    for (std::size_t g = 0; g < scales.size(); ++g) {
      float mx = -INFINITY, mn = INFINITY;
      for (int j = 0; j < gs; ++j) {
        mx = std::max(mx, w[g * gs + j]);
        mn = std::min(mn, w[g * gs + j]);
      }
      const float edge = std::fabs(mn) > std::fabs(mx) ? mn : mx;
      if (biases[g] != 0.0f) CHECK(biases[g] == edge);
    }
  }
}

TEST_CASE("fp modes: every code is a nearest fp4/fp8 value of w / scale") {
  std::mt19937 rng(12);
  for (quant_mode mode : {quant_mode::mxfp4, quant_mode::mxfp8, quant_mode::nvfp4}) {
    const quant_format f = lowbit::default_format(mode);
    const std::size_t rows = 5, cols = 96;
    std::vector<float> w(rows * cols);
    for (auto& v : w) v = std::ldexp(std::uniform_real_distribution<float>(-1, 1)(rng), int(rng() % 8) - 4);
    std::vector<std::uint32_t> packed(rows * cols * f.bits / 32);
    std::vector<std::uint8_t> scales(rows * cols / f.group_size);
    std::vector<float> out(rows * cols);
    lowbit::quantize(f, w.data(), rows, cols, packed.data(), scales.data(),
                     static_cast<std::uint8_t*>(nullptr));
    lowbit::dequantize(lowbit::qmatrix<std::uint8_t>{packed.data(), scales.data(), nullptr, rows, cols, f},
                       out.data());
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::uint8_t sb = scales[i / f.group_size];
      const double scale =
          mode == quant_mode::nvfp4 ? lowbit::fp8_e4m3_to_float(sb) : std::ldexp(1.0, sb - 127);
      const double target = w[i] / scale;
      // Distance to the nearest representable element value, by brute force in double.
      double best = INFINITY;
      for (int c = 0; c < (f.bits == 4 ? 16 : 256); ++c) {
        const double v = f.bits == 4 ? lowbit::fp4_e2m1_to_float(std::uint8_t(c))
                                     : lowbit::fp8_e4m3_to_float(std::uint8_t(c));
        if (f.bits == 8 && std::fabs(v) > 448) continue;  // 0x7F/0xFF are not encodable
        best = std::min(best, std::fabs(v - target));
      }
      const double got = std::fabs(out[i] / scale - target);
      REQUIRE_MESSAGE(got <= best + 1e-6 * std::fabs(target) + 1e-12,
                      lowbit::to_string(mode) << " i " << i << " w " << w[i] << " got " << out[i]);
    }
  }
}

TEST_CASE("expert stacks quantize as rows of independent matrices") {
  std::mt19937 rng(13);
  const std::size_t E = 3, R = 8, C = 64;
  const quant_format f{quant_mode::affine, 4, 32};
  std::vector<float> w(E * R * C);
  for (auto& v : w) v = std::uniform_real_distribution<float>(-1, 1)(rng);
  std::vector<std::uint32_t> all(E * R * C / 8);
  std::vector<float> s(E * R * C / 32), b(E * R * C / 32);
  lowbit::quantize(f, w.data(), E * R, C, all.data(), s.data(), b.data());
  for (std::size_t e = 0; e < E; ++e) {
    std::vector<std::uint32_t> one(R * C / 8);
    std::vector<float> s1(R * C / 32), b1(R * C / 32);
    lowbit::quantize(f, w.data() + e * R * C, R, C, one.data(), s1.data(), b1.data());
    CHECK(std::equal(one.begin(), one.end(), all.begin() + e * R * C / 8));
    const auto view =
        lowbit::expert_view(lowbit::qmatrix<float>{all.data(), s.data(), b.data(), R, C, f, E}, e);
    CHECK(view.packed == all.data() + e * R * C / 8);
    CHECK(view.scales == s.data() + e * R * C / 32);
  }
}
