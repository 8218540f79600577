// LUT kernels (public lowbit:: overloads and lowbit::reference) against plain
// computations on unpacked indices: unsorted tables, every nbits, f16/bf16/
// float/int8 tables, both per-channel scales, stacked experts and gathers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "lowbit/core/thread_pool.hpp"
#include "lowbit/kernels/lut.hpp"
#include "lowbit/simd/backend.hpp"
#include "lut_fixture.hpp"

using namespace lowbit;
using lut_test::fixture;

namespace {

double tolerance(const std::vector<double>& abs_terms, std::size_t i) { return 1e-5 * abs_terms[i] + 1e-30; }

}  // namespace

TEST_CASE("LUT dequantize: every nbits, unsorted tables, scales, stacked experts (bit-exact)") {
  for (int bits = 1; bits <= 8; ++bits)
    for (auto mode :
         {lut_channel_scale::none, lut_channel_scale::output_rows, lut_channel_scale::input_columns}) {
      CAPTURE(bits);
      const fixture<f16> fx(2, 8, 13, lut_format{bits, 4}, mode, 100u + bits);
      std::vector<float> out_f(2 * 8 * 13);
      std::vector<f16> out_h(out_f.size());
      std::vector<bf16> out_b(out_f.size());
      dequantize(fx.view(), out_f.data());
      dequantize(fx.view(), out_h.data());
      dequantize(fx.view(), out_b.data());
      for (std::size_t row = 0; row < 16; ++row)
        for (std::size_t c = 0; c < 13; ++c) {
          const float v = fx.weight(row, c);
          CHECK(out_f[row * 13 + c] == v);
          CHECK(out_h[row * 13 + c].bits == f16(v).bits);
          CHECK(out_b[row * 13 + c].bits == bf16(v).bits);
        }
    }
}

TEST_CASE("LUT dequantize: float, bf16 and int8 tables; per-tensor") {
  const fixture<float> ff(1, 6, 10, lut_format{5, 0}, lut_channel_scale::none, 1);
  const fixture<bf16> fb(1, 6, 10, lut_format{2, 3}, lut_channel_scale::output_rows, 2);
  const fixture<std::int8_t> fi(1, 6, 10, lut_format{8, 0}, lut_channel_scale::none, 3);
  std::vector<float> out(60);
  dequantize(ff.view(), out.data());
  for (std::size_t i = 0; i < 60; ++i) CHECK(out[i] == ff.weight(i / 10, i % 10));
  dequantize(fb.view(), out.data());
  for (std::size_t i = 0; i < 60; ++i) CHECK(out[i] == fb.weight(i / 10, i % 10));
  dequantize(fi.view(), out.data());
  for (std::size_t i = 0; i < 60; ++i) CHECK(out[i] == fi.weight(i / 10, i % 10));
}

TEST_CASE("LUT qmv / qmm match a float64 matmul of the plain weights") {
  for (int bits : {1, 2, 3, 4, 5, 6, 7, 8})
    for (auto mode : {lut_channel_scale::none, lut_channel_scale::input_columns}) {
      CAPTURE(bits);
      const std::size_t rows = 16, cols = 70, m = 3;
      const fixture<f16> fx(1, rows, cols, lut_format{bits, 8}, mode, 7u * bits);
      std::mt19937 rng(bits);
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      std::vector<bf16> x(m * cols);
      for (auto& v : x) v = bf16(u(rng));
      std::vector<double> want(m * rows, 0.0), mag(m * rows, 0.0);
      for (std::size_t t = 0; t < m; ++t)
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t c = 0; c < cols; ++c) {
            const double p = static_cast<double>(fx.weight(r, c)) * static_cast<float>(x[t * cols + c]);
            want[t * rows + r] += p;
            mag[t * rows + r] += std::fabs(p);
          }
      std::vector<float> y(rows), ym(m * rows);
      qmv(fx.view(), x.data(), y.data());
      qmm(fx.view(), x.data(), m, ym.data());
      for (std::size_t r = 0; r < rows; ++r) CHECK(std::fabs(y[r] - want[r]) <= tolerance(mag, r));
      for (std::size_t i = 0; i < m * rows; ++i) CHECK(std::fabs(ym[i] - want[i]) <= tolerance(mag, i));
      std::vector<f16> yh(rows);
      qmv(fx.view(), x.data(), yh.data());
      for (std::size_t r = 0; r < rows; ++r) CHECK(yh[r].bits == f16(y[r]).bits);
    }
}

TEST_CASE("LUT gather_qmv / gather_qmm route tokens to experts") {
  const std::size_t experts = 4, rows = 8, cols = 24, tokens = 5, top_k = 2;
  const fixture<f16> fx(experts, rows, cols, lut_format{4, 0}, lut_channel_scale::output_rows, 9);
  std::vector<float> x(tokens * cols);
  std::iota(x.begin(), x.end(), -50.0f);
  for (auto& v : x) v *= 0.01f;
  const std::vector<std::uint32_t> ids = {0, 3, 2, 2, 1, 0, 3, 1, 2, 0};
  std::vector<float> y(tokens * top_k * rows), y2(y.size());
  gather_qmv(fx.view(), x.data(), tokens, ids.data(), top_k, y.data());
  gather_qmm(fx.view(), x.data(), tokens, ids.data(), top_k, y2.data());
  CHECK(y == y2);
  for (std::size_t t = 0; t < tokens; ++t)
    for (std::size_t j = 0; j < top_k; ++j)
      for (std::size_t r = 0; r < rows; ++r) {
        double want = 0, mag = 0;
        for (std::size_t c = 0; c < cols; ++c) {
          const double p = static_cast<double>(fx.weight(ids[t * top_k + j] * rows + r, c)) * x[t * cols + c];
          want += p;
          mag += std::fabs(p);
        }
        CHECK(std::fabs(y[(t * top_k + j) * rows + r] - want) <= 1e-5 * mag);
      }
  // Expert views give the same rows as the gather.
  const auto e3 = lut_expert_view(fx.view(), 3);
  std::vector<float> y3(rows);
  qmv(e3, x.data(), y3.data());
  CHECK(std::equal(y3.begin(), y3.end(), y.begin() + 1 * rows));
  const std::vector<std::uint32_t> bad = {0, 4};
  CHECK_THROWS_WITH_AS(gather_qmv(fx.view(), x.data(), 1, bad.data(), 2, y.data()),
                       "gather_qmv: expert id 4 at token 0, slot 1 is out of range (experts = 4)", error);
  CHECK_THROWS_WITH_AS(qmv(fx.view(), x.data(), y.data()),
                       "qmv: needs a single matrix, got 4 experts (use gather_qmv or lut_expert_view)",
                       error);
}

TEST_CASE("LUT gather_qmv: every route equals its expert's qmv (vector kernels, every backend)") {
  // 38 rows (a partial row tile; 2 rows per LUT), 256 columns (whole chunks: the vector kernels run),
  // top-3 with repeated and unused experts, 3 threads; exact and int8 numerics.
  const std::size_t experts = 5, rows = 38, cols = 256, tokens = 4, top_k = 3;
  const std::vector<std::uint32_t> ids = {4, 0, 2, 2, 4, 0, 0, 2, 4, 4, 2, 0};  // 1 and 3 unused
  thread_pool pool(3);
  for (int bits : {2, 3, 4, 6})
    for (auto mode :
         {lut_channel_scale::none, lut_channel_scale::output_rows, lut_channel_scale::input_columns}) {
      const fixture<f16> fx(experts, rows, cols, lut_format{bits, 2}, mode, static_cast<unsigned>(bits) + 40);
      std::vector<float> x(tokens * cols);
      std::mt19937 rng(static_cast<unsigned>(bits));
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      for (auto& v : x) v = u(rng);
      for (backend be : {backend::scalar, backend::xsimd, backend::highway})
        for (numerics nm : {numerics::exact, numerics::int8}) {
          INFO("bits " << bits << " scale mode " << static_cast<int>(mode) << " backend "
                       << static_cast<int>(be) << " int8 " << (nm == numerics::int8));
          std::vector<float> y(tokens * top_k * rows);
          std::vector<f16> yh(y.size());
          gather_qmv(fx.view(), x.data(), tokens, ids.data(), top_k, y.data(), pool.get(), be, nm);
          gather_qmv(fx.view(), x.data(), tokens, ids.data(), top_k, yh.data(), {}, be, nm);
          for (std::size_t k = 0; k < tokens * top_k; ++k) {
            std::vector<float> ye(rows);
            qmv(lut_expert_view(fx.view(), ids[k]), x.data() + k / top_k * cols, ye.data(), {}, be, nm);
            CHECK(std::equal(ye.begin(), ye.end(), y.begin() + static_cast<std::ptrdiff_t>(k * rows)));
            for (std::size_t r = 0; r < rows; ++r) CHECK(yh[k * rows + r].bits == f16(ye[r]).bits);
          }
        }
    }
}

TEST_CASE("LUT kernels validate their arguments") {
  const fixture<f16> fx(1, 8, 8, lut_format{4, 8}, lut_channel_scale::none, 1);
  auto w = fx.view();
  std::vector<float> y(64);
  CHECK_THROWS_AS(qmv(w, static_cast<const float*>(nullptr), y.data()), error);
  w.format.group_size = 3;
  CHECK_THROWS_AS(dequantize(w, y.data()), error);
  w.format.group_size = 8;
  w.lut = nullptr;
  CHECK_THROWS_WITH_AS(dequantize(w, y.data()), "dequantize: null indices or LUT pointer", error);
  const fixture<f16> odd(3, 3, 3, lut_format{3, 0}, lut_channel_scale::none, 1);  // 27 bits per expert
  CHECK_THROWS_AS(lut_expert_view(odd.view(), 1), error);
}

TEST_CASE("LUT vector kernels on every backend match the plain definition (bits 1-8, scales, tails)") {
  for (backend be : {backend::scalar, backend::xsimd, backend::highway})
    for (int bits = 1; bits <= 8; ++bits)
      for (std::size_t cols : {std::size_t{256}, std::size_t{96}, std::size_t{40}})
        for (auto mode :
             {lut_channel_scale::none, lut_channel_scale::output_rows, lut_channel_scale::input_columns}) {
          CAPTURE(static_cast<int>(be));
          CAPTURE(bits);
          CAPTURE(cols);
          CAPTURE(static_cast<int>(mode));
          const std::size_t rows = 24, m = 3;
          const fixture<f16> fx(2, rows, cols, lut_format{bits, 8}, mode,
                                1000u * bits + static_cast<unsigned>(cols));
          std::vector<float> out_f(2 * rows * cols);
          std::vector<f16> out_h(out_f.size());
          dequantize(fx.view(), out_f.data(), {}, be);
          dequantize(fx.view(), out_h.data(), {}, be);
          for (std::size_t row = 0; row < 2 * rows; ++row)
            for (std::size_t c = 0; c < cols; ++c) {
              const float v = fx.weight(row, c);
              REQUIRE(out_f[row * cols + c] == v);
              REQUIRE(out_h[row * cols + c].bits == f16(v).bits);
            }
          std::mt19937 rng(bits);
          std::uniform_real_distribution<float> u(-1.0f, 1.0f);
          std::vector<float> x(m * cols);
          for (auto& v : x) v = u(rng);
          const auto e1 = lut_expert_view(fx.view(), 1);
          std::vector<float> y(m * rows);
          std::vector<bf16> yb(rows);
          qmm(e1, x.data(), m, y.data(), {}, be);
          qmv(e1, x.data(), yb.data(), {}, be);
          for (std::size_t t = 0; t < m; ++t)
            for (std::size_t r = 0; r < rows; ++r) {
              double want = 0, mag = 0;
              for (std::size_t c = 0; c < cols; ++c) {
                const double p = static_cast<double>(fx.weight(rows + r, c)) * x[t * cols + c];
                want += p;
                mag += std::fabs(p);
              }
              CHECK(std::fabs(y[t * rows + r] - want) <= 1e-5 * mag + 1e-30);
              if (t == 0)
                CHECK(std::fabs(static_cast<float>(yb[r]) - want) <= 1e-5 * mag + std::fabs(want) / 128);
            }
          const std::vector<std::uint32_t> ids = {1, 0, 1};
          std::vector<float> yg(3 * rows);
          gather_qmv(fx.view(), x.data(), 3, ids.data(), 1, yg.data(), {}, be);
          for (std::size_t r = 0; r < rows; ++r)
            CHECK(yg[r] == doctest::Approx(y[r]).epsilon(1e-5).scale(1e-3));
        }
}

TEST_CASE("LUT qmv 5/6-bit: f16 and float tables, row tails, every backend") {
  // rows 6 = one 4-row block + 2 single rows; cols 64 and 96 take the
  // AVX3_DL f16-word path (f16 tables), float tables the float path.
  for (backend be : {backend::scalar, backend::xsimd, backend::highway})
    for (int bits : {5, 6})
      for (std::size_t cols : {std::size_t{64}, std::size_t{96}}) {
        CAPTURE(static_cast<int>(be));
        CAPTURE(bits);
        CAPTURE(cols);
        const std::size_t rows = 6;
        const fixture<f16> fx(1, rows, cols, lut_format{bits, 2}, lut_channel_scale::output_rows, 77u + bits);
        std::vector<float> lut32(fx.lut.size());
        for (std::size_t i = 0; i < lut32.size(); ++i)
          lut32[i] = static_cast<float>(fx.lut[i]) * (1.0f + 0x1p-20f);  // not f16 values
        std::vector<float> sc32(fx.scales.size());
        for (std::size_t i = 0; i < sc32.size(); ++i) sc32[i] = static_cast<float>(fx.scales[i]);
        lut_matrix<float> w32 = {fx.stream.data(), lut32.data(), rows, cols, lut_format{bits, 2}};
        w32.channel_scale = lut_channel_scale::output_rows;
        w32.scales = sc32.data();
        std::mt19937 rng(bits);
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        std::vector<float> x(cols);
        for (auto& v : x) v = u(rng);
        std::vector<float> y(rows), y32(rows);
        qmv(fx.view(), x.data(), y.data(), {}, be);
        qmv(w32, x.data(), y32.data(), {}, be);
        for (std::size_t r = 0; r < rows; ++r) {
          double want = 0, want32 = 0, mag = 0;
          for (std::size_t c = 0; c < cols; ++c) {
            const double p = static_cast<double>(fx.weight(r, c)) * x[c];
            want += p;
            want32 += static_cast<double>(lut32[(r / 2) * lut_entries(fx.f) + fx.idx[r * cols + c]]) *
                      sc32[r] * x[c];
            mag += std::fabs(p);
          }
          CHECK(std::fabs(y[r] - want) <= 1e-5 * mag + 1e-30);
          CHECK(std::fabs(y32[r] - want32) <= 1e-5 * mag + 1e-30);
        }
      }
}

TEST_CASE("LUT vector kernels take bits 1-6 with whole chunks, and decline the rest") {
  for (backend be : {backend::scalar, backend::xsimd, backend::highway})
    for (int bits = 1; bits <= 8; ++bits) {
      const fixture<f16> fx(1, 16, 256, lut_format{bits, 8}, lut_channel_scale::none, 5);
      const auto tables = detail::lut_tables16(fx.view());
      std::vector<float> x(256, 1.0f), y(16);
      kernels::lut_job j;
      j.indices = fx.stream.data();
      j.rows = 16;
      j.cols = 256;
      j.group_rows = 8;
      j.bits = bits;
      j.tables = tables.data();
      j.x = x.data();
      j.x_stride = 256;
      j.y = y.data();
      j.y_stride = 16;
      CHECK(kernels::run_lut_matmul(j, be) == (bits <= 6));
    }
}
