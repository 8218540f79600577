// LUT numerics::int8 (kernels/lut_int8-inl.hpp) on every backend and Highway
// target: each output within core/numerics.hpp's bound and equal, within float
// summation error, to an independent emulation of the algorithm; exact where
// the int8 kernel does not run.
#include <doctest/doctest.h>
#include <hwy/targets.h>  // hwy::TargetName, HWY_AVX3_DL

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/core/thread_pool.hpp"
#include "lowbit/kernels/lut.hpp"
#include "lowbit/simd/backend.hpp"
#include "lut_fixture.hpp"

using namespace lowbit;
using lut_test::fixture;

namespace {
/// core/numerics.hpp's int8 LUT algorithm for row r (table g) and one activation row, in
/// the kernel's float steps, summed exactly; mag: the magnitude of the biased terms the
/// kernel accumulates in float.
struct emulated {
  double y = 0, mag = 0;
};
emulated emulate_int8(const fixture<f16>& fx, const float* x, std::size_t r, std::size_t g, double rs) {
  const std::size_t n = lut_entries(fx.f), cols = fx.cols;
  float amax = 0.0f;
  for (std::size_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(fx.value(fx.lut[g * n + i])));
  const float inv = amax >= 0x1p-100f ? 127.0f / amax : 0.0f, ls = amax / 127.0f;
  emulated e;
  for (std::size_t b = 0; b < cols; b += 32) {
    float xs[32], xmax = 0.0f;
    for (std::size_t c = b; c < b + 32; ++c) {
      xs[c - b] = x[c] * (fx.mode == lut_channel_scale::input_columns ? fx.value(fx.scales[c]) : 1.0f);
      xmax = std::max(xmax, std::fabs(xs[c - b]));
    }
    const float xinv = xmax >= 0x1p-100f ? 127.0f / xmax : 0.0f, dx = xmax / 127.0f;
    long long dot = 0, dmag = 0;
    for (std::size_t c = b; c < b + 32; ++c) {
      const auto lq =
          static_cast<long long>(std::nearbyint(fx.value(fx.lut[g * n + fx.idx[r * cols + c]]) * inv));
      const auto xq = static_cast<long long>(std::clamp(std::nearbyint(xs[c - b] * xinv), -127.0f, 127.0f));
      dot += lq * xq;
      dmag += (std::llabs(lq) + 128) * std::llabs(xq);
    }
    e.y += static_cast<double>(dx) * static_cast<double>(dot);
    e.mag += std::fabs(rs) * ls * static_cast<double>(dx) * static_cast<double>(dmag);
  }
  e.y *= rs * ls;
  return e;
}

/// numerics::int8 on backend be (every Highway target when be is highway): within
/// core/numerics.hpp's bound of the plain float64 definition and equal to an emulation of
/// the algorithm where the int8 kernel runs (2/4-bit; 3-bit on AVX3_DL), exact elsewhere.
void check_lut_int8(backend be, const executor& ex, bool avx3_dl = false) {
  for (int bits : {2, 3, 4, 5, 6})
    for (std::size_t cols : {std::size_t{256}, std::size_t{96}, std::size_t{512}})
      for (auto mode :
           {lut_channel_scale::none, lut_channel_scale::output_rows, lut_channel_scale::input_columns}) {
        CAPTURE(bits);
        CAPTURE(cols);
        CAPTURE(static_cast<int>(mode));
        const std::size_t rows = 22, m = 3;  // 5 tiles of 4 + 2 single rows
        const fixture<f16> fx(1, rows, cols, lut_format{bits, 2}, mode,
                              31u * bits + static_cast<unsigned>(cols));
        std::mt19937 rng(static_cast<unsigned>(cols) + bits);
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        std::vector<float> x(m * cols);
        for (auto& v : x) v = u(rng) * (rng() % 16 == 0 ? 20.0f : 1.0f);  // some outliers
        std::vector<float> y(m * rows), ye(m * rows), yv(rows);
        qmm(fx.view(), x.data(), m, y.data(), ex, be, numerics::int8);
        qmm(fx.view(), x.data(), m, ye.data(), ex, be, numerics::exact);
        qmv(fx.view(), x.data(), yv.data(), ex, be, numerics::int8);
        // 256 and 512 columns are whole int8 spans on every backend (96 only on some).
        // 3-bit: AVX3_DL only, whole 64-code spans; 5/6-bit: exact; 96 columns of 2/4-bit are
        // whole spans on some backends only (neither check then).
        const bool direct = bits == 2 || bits == 4;
        const bool runs_int8 = direct ? cols != 96 : bits == 3 && avx3_dl && cols % 64 == 0;
        const bool runs_exact = direct ? false : !runs_int8;
        std::size_t differ = 0;
        for (std::size_t t = 0; t < m; ++t)
          for (std::size_t r = 0; r < rows; ++r) {
            // The bound's terms from the plain definition: the table's int8 step ls, each
            // 32-block's activation step dx (of x times the column scales, as the kernel sees x).
            const std::size_t g = r / 2, n = lut_entries(fx.f);
            double amax = 0;
            for (std::size_t i = 0; i < n; ++i)
              amax = std::max(amax, std::fabs(double{fx.value(fx.lut[g * n + i])}));
            const double ls = amax / 127,
                         rs = mode == lut_channel_scale::output_rows ? fx.value(fx.scales[r]) : 1.0;
            double want = 0, mag = 0, bound = 0;
            for (std::size_t b = 0; b < cols; b += 32) {
              double xmax = 0;
              std::vector<double> xs(32);
              for (std::size_t c = b; c < b + 32; ++c) {
                xs[c - b] = x[t * cols + c] *
                            (mode == lut_channel_scale::input_columns ? fx.value(fx.scales[c]) : 1.0);
                xmax = std::max(xmax, std::fabs(xs[c - b]));
              }
              for (std::size_t c = b; c < b + 32; ++c) {
                const double l = fx.value(fx.lut[g * n + fx.idx[r * cols + c]]), p = l * rs * xs[c - b];
                want += p;
                mag += std::fabs(p);
                bound += std::fabs(rs) *
                         ((std::fabs(l) + ls / 2) * xmax / 127 / 2 + ls / 2 * std::fabs(xs[c - b]));
              }
            }
            const float got = y[t * rows + r];
            CHECK(std::fabs(got - want) <= bound + 1e-5 * mag + 1e-30);
            // Tighter: the documented algorithm emulated in float (quantization) and exact
            // integer sums; the kernel may differ only by its float accumulation.
            if (runs_int8) {
              const emulated e = emulate_int8(fx, x.data() + t * cols, r, g, rs);
              CHECK(std::fabs(got - e.y) <= 1e-5 * e.mag + 1e-30);
            }
            if (t == 0) CHECK(yv[r] == doctest::Approx(got).epsilon(1e-6).scale(1e-3));
            differ += got != ye[t * rows + r];
          }
        if (runs_int8) CHECK(differ > 0);
        if (runs_exact) CHECK(differ == 0);
      }
}
}  // namespace

TEST_CASE("LUT numerics::int8: within the documented bound, every backend and Highway target") {
  thread_pool pool(3);
  for (backend be : {backend::scalar, backend::xsimd}) {
    CAPTURE(static_cast<int>(be));
    check_lut_int8(be, {});
  }
  for (std::int64_t t : kernels::highway_targets()) {
    kernels::pin_highway_targets(t);
    INFO("target " << hwy::TargetName(t));
    check_lut_int8(backend::highway, pool.get(), t == HWY_AVX3_DL);
  }
  kernels::pin_highway_targets(0);
}
