// numerics::int8 (opt-in int8 activations) on every backend and Highway target:
// each output within the documented bound (core/numerics.hpp), computed here
// from the codes, scales and biases independently of the kernel:
//   |y - y_ref| <= sum_k |s q_k| dx_g / 2 + |w_k - (s q_k + b)| |x_k|  (+ 1e-5 sum|w x|),
// y_ref the float64 sum over the reference's (MLX-rounded) weights. Also: the
// int8 path really runs (results differ from the exact mode where supported),
// shapes the int8 spans do not fit fall back to exact, fp modes stay exact.
#include <doctest/doctest.h>
#include <hwy/targets.h>  // hwy::TargetName

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernel_test_util.hpp"
#include "lowbit/core/thread_pool.hpp"
#include "lowbit/format/bitstream.hpp"
#include "lowbit/kernels/cpu.hpp"
#include "lowbit/lowbit.hpp"

using namespace lowbit;
using kernel_test::make;
using kernel_test::randv;

namespace {

/// Checks y (m x rows) against the bound; returns how many outputs differ from `exact`.
template <class S>
std::size_t check_int8(const qmatrix<S>& w, const float* x, std::size_t m, const float* y, const float* exact,
                       const std::string& what) {
  std::vector<float> wd(w.rows * w.cols);
  reference::dequantize(w, wd.data());
  const std::size_t gs = static_cast<std::size_t>(w.format.group_size), gpr = w.cols / gs;
  const std::size_t words_per_row = w.cols * static_cast<std::size_t>(w.format.bits) / 32;
  std::size_t bad = 0, differ = 0;
  double worst = 0.0;
  for (std::size_t t = 0; t < m; ++t) {
    const float* xr = x + t * w.cols;
    for (std::size_t r = 0; r < w.rows; ++r) {
      double ref = 0.0, mag = 0.0, bound = 0.0;
      for (std::size_t g = 0; g < gpr; ++g) {
        double amax = 0.0;
        for (std::size_t k = g * gs; k < (g + 1) * gs; ++k) amax = std::max(amax, std::fabs(double(xr[k])));
        const double dx = amax / 127.0, s = to_float(w.scales[r * gpr + g]),
                     b = to_float(w.biases[r * gpr + g]);
        for (std::size_t k = g * gs; k < (g + 1) * gs; ++k) {
          const double q = extract_code(w.packed + r * words_per_row, k, w.format.bits);
          const double wk = wd[r * w.cols + k], p = wk * xr[k];
          ref += p;
          mag += std::fabs(p);
          bound += std::fabs(s * q) * dx / 2 + std::fabs(wk - (s * q + b)) * std::fabs(double(xr[k]));
        }
      }
      const double got = y[t * w.rows + r], err = std::fabs(got - ref);
      if (err > bound + 1e-5 * mag + 1e-30) ++bad;
      worst = std::max(worst, err / (bound + 1e-5 * mag + 1e-30));
      if (got != exact[t * w.rows + r]) ++differ;
    }
  }
  INFO(what << ": worst error / bound " << worst);
  CHECK(bad == 0);
  return differ;
}

constexpr backend all_backends[] = {backend::scalar, backend::xsimd, backend::highway};

template <class S>
void suite(backend b, const executor& ex, const std::string& tag) {
  for (int bits : {2, 3, 4, 5, 6, 8})
    for (int gs : {32, 64, 128}) {
      // 512 columns: 4-bit spans of 128 and 2-bit spans of 256 (AVX-512) cover several
      // groups each; window-decoded 3/5/6-bit spans of 64 (AVX-512 without VBMI) do not fit
      // g32: those run exact (AVX3_DL's unpacked codes run int8: 4 codes per lane).
      const bool runs_int8 = bits == 2 || bits == 4 || bits == 8 || gs >= 64;
      const auto q =
          make<S>({quant_mode::affine, bits, gs}, 1, 37, 512, static_cast<unsigned>(bits * 7 + gs));
      const auto x = randv(11 * q.w.cols, static_cast<unsigned>(gs + bits));
      std::vector<float> y(11 * q.w.rows), ye(y.size());
      const std::string what = tag + " " + std::string(to_string(b)) + " b" + std::to_string(bits) + " g" +
                               std::to_string(gs) + " " + dtype_name<S>();
      // m = 3: codes decoded per activation row; 11: the row-interleaved panel, register
      // tiles of 4, 2 and 1 activation rows.
      for (std::size_t m : {1, 3, 11}) {
        kernels::qmm(q.w, x.data(), m, ye.data(), ex, b, numerics::exact);
        kernels::qmm(q.w, x.data(), m, y.data(), ex, b, numerics::int8);
        const std::size_t differ =
            check_int8(q.w, x.data(), m, y.data(), ye.data(), what + " m=" + std::to_string(m));
        INFO(what << " m=" << m);
        if (runs_int8) CHECK(differ > 0);  // rounding x changes results: the int8 path ran
      }
    }
}

}  // namespace

TEST_CASE("int8 activations: every backend, bits, group, scale dtype within the bound") {
  for (backend b : all_backends) {
    suite<float>(b, {}, "1 thread");
    suite<f16>(b, {}, "1 thread");
    suite<bf16>(b, {}, "1 thread");
  }
}

TEST_CASE("int8 activations: every Highway target, 3 threads") {
  thread_pool pool(3);
  for (std::int64_t t : kernels::highway_targets()) {
    kernels::pin_highway_targets(t);
    suite<f16>(backend::highway, pool.get(), std::string("hwy ") + hwy::TargetName(t));
  }
  kernels::pin_highway_targets(0);
}

TEST_CASE("int8 activations: fp modes run exact; qmv and qmm (m = 1) agree") {
  const auto q = make<std::uint8_t>(default_format(quant_mode::mxfp4), 1, 20, 128, 3);
  const auto x = randv(q.w.cols, 4);
  std::vector<float> y1(q.w.rows), y2(q.w.rows);
  kernels::qmv(q.w, x.data(), y1.data(), {}, backend::highway, numerics::exact);
  kernels::qmv(q.w, x.data(), y2.data(), {}, backend::highway, numerics::int8);
  CHECK(y1 == y2);

  const auto a = make<f16>({quant_mode::affine, 4, 64}, 1, 16, 256, 5);
  const auto xa = randv(a.w.cols, 6);
  std::vector<float> yq(a.w.rows), ym(a.w.rows);
  kernels::qmv(a.w, xa.data(), yq.data(), {}, backend::highway, numerics::int8);
  kernels::qmm(a.w, xa.data(), 1, ym.data(), {}, backend::highway, numerics::int8);
  CHECK(yq == ym);
}

TEST_CASE("int8 activations: gather_qmv's routes equal each expert's qmv") {
  // 5 tokens (at the qmm threshold: a gather must stay on the mat-vec kernels), top-3 with
  // repeated and unused experts, 37 rows (a partial row tile), 3 threads.
  const auto q = make<f16>({quant_mode::affine, 4, 64}, 6, 37, 256, 31);
  const std::size_t tokens = 5, top_k = 3;
  const std::vector<std::uint32_t> ids = {0, 5, 2, 2, 5, 0, 5, 0, 3, 3, 2, 0, 0, 5, 2};  // 1 and 4 unused
  const auto x = randv(tokens * q.w.cols, 32);
  thread_pool pool(3);
  for (backend b : all_backends) {
    const std::string what = std::string("gather ") + std::string(to_string(b));
    std::vector<float> y(tokens * top_k * q.w.rows), ye(y.size());
    std::vector<f16> yh(y.size());
    kernels::gather_qmv(q.w, x.data(), tokens, ids.data(), top_k, y.data(), pool.get(), b, numerics::int8);
    kernels::gather_qmv(q.w, x.data(), tokens, ids.data(), top_k, ye.data(), pool.get(), b, numerics::exact);
    kernels::gather_qmv(q.w, x.data(), tokens, ids.data(), top_k, yh.data(), {}, b, numerics::int8);
    for (std::size_t i = 0; i < tokens * top_k; ++i) {
      const auto we = expert_view(q.w, ids[i]);
      const float* xi = x.data() + i / top_k * q.w.cols;
      std::vector<float> yq(q.w.rows);
      kernels::qmv(we, xi, yq.data(), {}, b, numerics::int8);
      INFO(what << " route " << i);
      CHECK(std::memcmp(yq.data(), y.data() + i * q.w.rows, q.w.rows * sizeof(float)) == 0);
      CHECK(check_int8(we, xi, 1, y.data() + i * q.w.rows, ye.data() + i * q.w.rows, what) > 0);
      for (std::size_t r = 0; r < q.w.rows; ++r)
        CHECK(to_float(yh[i * q.w.rows + r]) == to_float(f16(yq[r])));
    }
  }
}
