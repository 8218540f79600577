// Affine quantization against MLX's own output (tests/data/affine_*.safetensors):
// packed words, scales, biases and dequantized weights bit-exact for every
// bits x group_size x dtype; matmuls within the DESIGN §3 tolerance.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "golden.hpp"
#include "lowbit/lowbit.hpp"

namespace {

using lowbit::quant_format;
using lowbit::quant_mode;

// |got - want| <= tol * sum_k |w_rk * x_tk| for every output (w from the dequantized golden matrix).
template <class T>
void check_matmul(const std::vector<float>& got, const std::vector<T>& want, const std::vector<float>& w_deq,
                  const std::vector<T>& x, std::size_t m, std::size_t rows, std::size_t cols, double tol,
                  const std::string& what) {
  REQUIRE(got.size() == m * rows);
  REQUIRE(want.size() == m * rows);
  for (std::size_t t = 0; t < m; ++t)
    for (std::size_t r = 0; r < rows; ++r) {
      double mag = 0;
      for (std::size_t c = 0; c < cols; ++c)
        mag += std::fabs(double(w_deq[r * cols + c]) * double(lowbit::to_float(x[t * cols + c])));
      const double err = std::fabs(double(got[t * rows + r]) - double(lowbit::to_float(want[t * rows + r])));
      REQUIRE_MESSAGE(err <= tol * mag + 1e-30,
                      what << " [" << t << "," << r << "] err " << err << " mag " << mag);
    }
}

template <class T>
void check_file(const std::string& name, double matmul_tol) {
  const golden::file g(name);
  const auto w = g.get<T>("w");
  const std::size_t rows = 64, cols = 256;
  for (int bits : {2, 3, 4, 5, 6, 8})
    for (int gs : {32, 64, 128}) {
      const std::string p = "b" + std::to_string(bits) + "_gs" + std::to_string(gs) + ".";
      CAPTURE(name);
      CAPTURE(p);
      const quant_format f{quant_mode::affine, bits, gs};
      std::vector<std::uint32_t> packed(rows * cols * bits / 32);
      std::vector<T> scales(rows * cols / gs), biases(rows * cols / gs);
      lowbit::quantize(f, w.data(), rows, cols, packed.data(), scales.data(), biases.data());
      CHECK(golden::count_bit_mismatches(packed, g.get<std::uint32_t>(p + "wq"), p + "wq") == 0);
      CHECK(golden::count_bit_mismatches(scales, g.get<T>(p + "scales"), p + "scales") == 0);
      CHECK(golden::count_bit_mismatches(biases, g.get<T>(p + "biases"), p + "biases") == 0);

      // Dequantize MLX's own packing (not ours) so each check stands alone.
      const auto gq = g.get<std::uint32_t>(p + "wq");
      const auto gsc = g.get<T>(p + "scales");
      const auto gb = g.get<T>(p + "biases");
      const lowbit::qmatrix<T> q{gq.data(), gsc.data(), gb.data(), rows, cols, f};
      std::vector<T> deq(rows * cols);
      lowbit::dequantize(q, deq.data());
      CHECK(golden::count_bit_mismatches(deq, g.get<T>(p + "deq"), p + "deq") == 0);

      // dequantize(dtype=float32) in MLX computes in the scales dtype, then casts.
      std::vector<float> w_deq(rows * cols);
      lowbit::dequantize(q, w_deq.data());
      std::vector<float> want_f32;
      for (T v : g.get<T>(p + "deq")) want_f32.push_back(lowbit::to_float(v));
      CHECK(golden::count_bit_mismatches(w_deq, want_f32, p + "deq as f32") == 0);
      const auto x = g.get<T>("x");
      std::vector<float> y(3 * rows);
      lowbit::qmm(q, x.data(), 3, y.data());
      check_matmul(y, g.get<T>(p + "qmm_t"), w_deq, x, 3, rows, cols, matmul_tol, p + "qmm_t");
      if (bits == 4 && gs == 64) {
        const auto xv = g.get<T>("x_vec");
        std::vector<float> yv(rows);
        lowbit::qmv(q, xv.data(), yv.data());
        check_matmul(yv, g.get<T>(p + "qmm_t_vec"), w_deq, xv, 1, rows, cols, matmul_tol, p + "qmm_t_vec");
        const auto xb = g.get<T>("x_batch");
        std::vector<float> yb(6 * rows);
        lowbit::qmm(q, xb.data(), 6, yb.data());
        check_matmul(yb, g.get<T>(p + "qmm_t_batch"), w_deq, xb, 6, rows, cols, matmul_tol,
                     p + "qmm_t_batch");
      }
    }
}

}  // namespace

// MLX's x86 matmul rounds every f16/bf16 operation, so half-precision outputs
// only agree to the precision of the type.
TEST_CASE("affine f32 matches MLX bit-exactly") { check_file<float>("affine_f32.safetensors", 1e-5); }
TEST_CASE("affine f16 matches MLX bit-exactly") { check_file<lowbit::f16>("affine_f16.safetensors", 2e-2); }
TEST_CASE("affine bf16 matches MLX bit-exactly") {
  check_file<lowbit::bf16>("affine_bf16.safetensors", 5e-2);
}

TEST_CASE("transposed layout (qmm_n): quantize along N and dequantize bit-exactly, x @ W matches") {
  const golden::file g("affine_qmm_n_f32.safetensors");
  const auto w = g.get<float>("w");  // [K=256, N=64]
  const auto x = g.get<float>("x");  // [3, 256]
  const std::size_t K = 256, N = 64;
  for (int bits : {2, 3, 4, 5, 6, 8})
    for (int gs : {32, 64}) {
      const std::string p = "b" + std::to_string(bits) + "_gs" + std::to_string(gs) + ".";
      CAPTURE(p);
      const quant_format f{quant_mode::affine, bits, gs};
      std::vector<std::uint32_t> packed(K * N * bits / 32);
      std::vector<float> scales(K * N / gs), biases(K * N / gs);
      lowbit::quantize(f, w.data(), K, N, packed.data(), scales.data(), biases.data());
      CHECK(golden::count_bit_mismatches(packed, g.get<std::uint32_t>(p + "wq"), p + "wq") == 0);
      CHECK(golden::count_bit_mismatches(scales, g.get<float>(p + "scales"), p + "scales") == 0);
      CHECK(golden::count_bit_mismatches(biases, g.get<float>(p + "biases"), p + "biases") == 0);
      const lowbit::qmatrix<float> q{packed.data(), scales.data(), biases.data(), K, N, f};
      std::vector<float> deq(K * N);
      lowbit::dequantize(q, deq.data());
      const auto want = g.get<float>(p + "qmm_n");
      for (std::size_t t = 0; t < 3; ++t)
        for (std::size_t n = 0; n < N; ++n) {
          double acc = 0, mag = 0;
          for (std::size_t k = 0; k < K; ++k) {
            acc += double(x[t * K + k]) * deq[k * N + n];
            mag += std::fabs(double(x[t * K + k]) * deq[k * N + n]);
          }
          CHECK(std::fabs(acc - want[t * N + n]) <= 1e-5 * mag);
        }
    }
}
