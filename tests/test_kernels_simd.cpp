// The dispatched SIMD kernels (scalar, xsimd, highway backends, every Highway
// target this CPU runs) against the scalar reference: dequantize bit-exact for
// every Out type, qmv/qmm/gather within DESIGN §3's tolerance (1e-5 of
// sum |w*x|, from float64 sums over the reference's dequantized weights).
// Shapes are not multiples of the tiles (70 rows, 5 or 7 activation rows,
// 384 columns), and 1, 2, 3 threads.
#include <doctest/doctest.h>
#include <hwy/targets.h>  // hwy::TargetName

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernel_test_util.hpp"
#include "lowbit/core/thread_pool.hpp"
#include "lowbit/kernels/cpu.hpp"
#include "lowbit/lowbit.hpp"

using namespace lowbit;
using kernel_test::make;
using kernel_test::randv;

namespace {

/// |y - y_ref| <= 1e-5 * sum_k |w_rk x_tk| for a single matrix w (reference weights).
template <class S>
void check_matmul(const qmatrix<S>& w, const float* x, std::size_t m, const float* y,
                  const std::string& what) {
  std::vector<float> wd(w.rows * w.cols);
  reference::dequantize(w, wd.data());
  std::size_t bad = 0;
  double worst = 0.0;
  for (std::size_t t = 0; t < m; ++t)
    for (std::size_t r = 0; r < w.rows; ++r) {
      double ref = 0.0, mag = 0.0;
      for (std::size_t c = 0; c < w.cols; ++c) {
        const double p = static_cast<double>(wd[r * w.cols + c]) * static_cast<double>(x[t * w.cols + c]);
        ref += p;
        mag += std::fabs(p);
      }
      const double err = std::fabs(static_cast<double>(y[t * w.rows + r]) - ref);
      if (err > 1e-5 * mag + 1e-30) ++bad;
      worst = std::max(worst, err / (mag + 1e-30));
    }
  INFO(what << " worst relative error " << worst);
  CHECK(bad == 0);
}

template <class S, class Out>
void check_dequant(const qmatrix<S>& w, backend b, const executor& ex, const std::string& what) {
  const std::size_t n = w.experts * w.rows * w.cols;
  std::vector<Out> ref(n), got(n);
  reference::dequantize(w, ref.data());
  kernels::dequantize(w, got.data(), ex, b);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (std::memcmp(&ref[i], &got[i], sizeof(Out)) != 0) ++bad;
  INFO(what << " out=" << dtype_name<Out>());
  CHECK(bad == 0);
}

template <class S>
void check_all(const qmatrix<S>& w, backend b, const executor& ex, const std::string& what) {
  check_dequant<S, float>(w, b, ex, what);
  check_dequant<S, f16>(w, b, ex, what);
  check_dequant<S, bf16>(w, b, ex, what);
  const auto x = randv(7 * w.cols, 7);
  std::vector<float> y(7 * w.rows);
  kernels::qmv(w, x.data(), y.data(), ex, b);
  check_matmul(w, x.data(), 1, y.data(), what + " qmv");
  for (std::size_t m : {2, 5, 7}) {
    kernels::qmm(w, x.data(), m, y.data(), ex, b);
    check_matmul(w, x.data(), m, y.data(), what + " qmm m=" + std::to_string(m));
  }
}

template <class S>
void affine_suite(backend b, const executor& ex) {
  for (int bits : {2, 3, 4, 5, 6, 8})
    for (int gs : {32, 64, 128}) {
      if (gs != 64 && bits != 4 && bits != 2 && bits != 3) continue;  // group handling is bits-independent
      const auto q =
          make<S>({quant_mode::affine, bits, gs}, 1, 70, 384, static_cast<unsigned>(bits * 131 + gs));
      check_all(q.w, b, ex,
                std::string(to_string(b)) + " affine b" + std::to_string(bits) + " g" + std::to_string(gs) +
                    " " + dtype_name<S>());
    }
}

void fp_suite(backend b, const executor& ex) {
  for (auto [mode, gscale] : {std::pair{quant_mode::mxfp4, 0.0f}, std::pair{quant_mode::mxfp8, 0.0f},
                              std::pair{quant_mode::nvfp4, 0.0f}, std::pair{quant_mode::nvfp4, 900.0f}}) {
    const auto q = make<std::uint8_t>(default_format(mode), 1, 70, 384, 5, gscale);
    check_all(q.w, b, ex, std::string(to_string(b)) + " " + std::string(to_string(mode)));
  }
}

constexpr backend all_backends[] = {backend::scalar, backend::xsimd, backend::highway};

}  // namespace

TEST_CASE("affine f32/f16/bf16 scales, every backend, 1 thread") {
  for (backend b : all_backends) {
    affine_suite<float>(b, {});
    affine_suite<f16>(b, {});
    affine_suite<bf16>(b, {});
  }
}

TEST_CASE("fp modes (mxfp4, mxfp8, nvfp4 with and without global scale), every backend") {
  for (backend b : all_backends) fp_suite(b, {});
}

TEST_CASE("thread pool: 2 and 3 threads give the same results") {
  for (std::size_t n : {2u, 3u}) {
    thread_pool pool(n);
    for (backend b : {backend::scalar, backend::highway}) {
      const auto q = make<f16>({quant_mode::affine, 4, 64}, 1, 301, 512, 11);  // a task with rows % 4 != 0
      check_all(q.w, b, pool.get(), "threads " + std::to_string(n));
    }
  }
}

TEST_CASE("row_tiles: every row once; row i of a full tile follows row i of the tile before") {
  for (std::size_t b : {0u, 5u, 16u})
    for (std::size_t len : {0u, 1u, 3u, 4u, 5u, 7u, 8u, 33u, 64u}) {
      const kernels::row_tiles<4> tiles(b, b + len);
      std::vector<int> seen(len, 0);
      for (std::size_t t = 0; t < tiles.count(); ++t) {
        CHECK(tiles.size(t) >= 1);
        CHECK(tiles.size(t) <= 4);
        for (std::size_t i = 0; i < tiles.size(t); ++i) {
          const std::size_t r = tiles.row(t, i);
          REQUIRE(r >= b);
          REQUIRE(r < b + len);
          ++seen[r - b];
          if (t > 0 && tiles.size(t) == 4) CHECK(r == tiles.row(t - 1, i) + 1);
        }
      }
      for (std::size_t r = 0; r < len; ++r) CHECK_MESSAGE(seen[r] == 1, "row " << b + r << " of " << len);
      std::size_t visited = 0;
      tiles.for_each([&](const std::size_t* rws, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) CHECK(rws[i] == tiles.row(visited, i));
        ++visited;
      });
      CHECK(visited == tiles.count());
    }
}

TEST_CASE("every Highway target this CPU supports") {
  for (std::int64_t t : kernels::highway_targets()) {
    kernels::pin_highway_targets(t);
    INFO("target " << hwy::TargetName(t));
    const auto q4 = make<bf16>({quant_mode::affine, 4, 64}, 1, 70, 384, 3);
    check_all(q4.w, backend::highway, {}, std::string("hwy b4 ") + hwy::TargetName(t));
    const auto q3 = make<f16>({quant_mode::affine, 3, 32}, 1, 70, 384, 4);
    check_all(q3.w, backend::highway, {}, std::string("hwy b3 ") + hwy::TargetName(t));
    const auto q2 = make<float>({quant_mode::affine, 2, 128}, 1, 70, 384, 6);
    check_all(q2.w, backend::highway, {}, std::string("hwy b2 ") + hwy::TargetName(t));
    fp_suite(backend::highway, {});
  }
  kernels::pin_highway_targets(0);
}

TEST_CASE("gather_qmv / gather_qmm: repeated and unused expert ids") {
  const auto q = make<f16>({quant_mode::affine, 4, 64}, 5, 40, 256, 9);
  const std::size_t tokens = 6, top_k = 2;
  const std::vector<std::uint32_t> ids = {0, 3, 3, 0, 1, 3, 3, 3, 0, 1, 1, 0};  // experts 2 and 4 unused
  const auto x = randv(tokens * q.w.cols, 12);
  thread_pool pool(2);
  for (backend b : all_backends) {
    std::vector<float> y1(tokens * top_k * q.w.rows), y2(y1.size());
    kernels::gather_qmv(q.w, x.data(), tokens, ids.data(), top_k, y1.data(), pool.get(), b);
    kernels::gather_qmm(q.w, x.data(), tokens, ids.data(), top_k, y2.data(), pool.get(), b);
    for (std::size_t i = 0; i < tokens * top_k; ++i) {
      const auto we = expert_view(q.w, ids[i]);
      check_matmul(we, x.data() + i / top_k * q.w.cols, 1, y1.data() + i * q.w.rows, "gather_qmv");
      check_matmul(we, x.data() + i / top_k * q.w.cols, 1, y2.data() + i * q.w.rows, "gather_qmm");
    }
  }
}

TEST_CASE("f16/bf16 activations and results go through float") {
  const auto q = make<bf16>({quant_mode::affine, 4, 32}, 1, 33, 128, 21);
  const auto xf = randv(q.w.cols, 22);
  std::vector<bf16> xb(xf.size());
  for (std::size_t i = 0; i < xf.size(); ++i) xb[i] = bf16(xf[i]);
  std::vector<f16> y(q.w.rows), yr(q.w.rows);
  kernels::qmv(q.w, xb.data(), y.data());
  reference::qmv(q.w, xb.data(), yr.data());
  for (std::size_t r = 0; r < y.size(); ++r)
    CHECK(std::fabs(to_float(y[r]) - to_float(yr[r])) <= 2e-3f * (1.0f + std::fabs(to_float(yr[r]))));
}

TEST_CASE("backend selection: names, LOWBIT_BACKEND spelling, errors") {
  CHECK(parse_backend("scalar") == backend::scalar);
  CHECK(parse_backend("xsimd") == backend::xsimd);
  CHECK(parse_backend("highway") == backend::highway);
  CHECK_THROWS_AS(parse_backend("avx9"), lowbit::error);
  CHECK(std::string(kernels::table_for(backend::scalar).target()) == "scalar");
  set_default_backend(backend::scalar);
  CHECK(default_backend() == backend::scalar);
  set_default_backend(backend::highway);
  const auto q = make<float>({quant_mode::affine, 4, 64}, 2, 8, 64, 1);
  std::vector<float> y(8);
  const auto x = randv(64, 2);
  CHECK_THROWS_AS(kernels::qmv(q.w, x.data(), y.data()), lowbit::error);  // 2 experts
}
