// mxfp4 / mxfp8 / nvfp4 (with and without global scale) against MLX's own
// output (tests/data/fp_modes_*.safetensors): codes and scale bytes
// bit-exact, dequantization to f32 and to bf16 bit-exact, matmul in tolerance.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "golden.hpp"
#include "lowbit/lowbit.hpp"

namespace {

using lowbit::quant_format;
using lowbit::quant_mode;

template <class T>
void check_mode(const golden::file& g, const std::string& prefix, quant_mode mode, float global_scale,
                bool has_matmul, double tol) {
  CAPTURE(prefix);
  const std::size_t rows = 64, cols = 256;
  const quant_format f = lowbit::default_format(mode);
  const auto w = g.get<T>("w");
  std::vector<std::uint32_t> packed(rows * cols * f.bits / 32);
  std::vector<std::uint8_t> scales(rows * cols / f.group_size);
  lowbit::quantize(f, w.data(), rows, cols, packed.data(), scales.data(), nullptr,
                   global_scale);  // a literal nullptr must work for fp modes
  CHECK(golden::count_bit_mismatches(packed, g.get<std::uint32_t>(prefix + ".wq"), prefix + ".wq") == 0);
  CHECK(golden::count_bit_mismatches(scales, g.get<std::uint8_t>(prefix + ".scales"), prefix + ".scales") ==
        0);

  const auto gq = g.get<std::uint32_t>(prefix + ".wq");
  const auto gs = g.get<std::uint8_t>(prefix + ".scales");
  const lowbit::qmatrix<std::uint8_t> q{gq.data(), gs.data(), nullptr, rows, cols, f, 1, global_scale};
  std::vector<float> deq(rows * cols);
  lowbit::dequantize(q, deq.data());
  CHECK(golden::count_bit_mismatches(deq, g.get<float>(prefix + ".deq"), prefix + ".deq") == 0);
  if (g.has(prefix + ".deq_default_dtype")) {
    std::vector<lowbit::bf16> deq16(rows * cols);
    lowbit::dequantize(q, deq16.data());
    CHECK(golden::count_bit_mismatches(deq16, g.get<lowbit::bf16>(prefix + ".deq_default_dtype"),
                                       prefix + ".deq_default_dtype") == 0);
  }
  if (!has_matmul) return;
  const auto x = g.get<T>("x");
  std::vector<float> y(3 * rows);
  lowbit::qmm(q, x.data(), 3, y.data());
  const auto want = g.get<T>(prefix + ".qmm_t");
  for (std::size_t t = 0; t < 3; ++t)
    for (std::size_t r = 0; r < rows; ++r) {
      double mag = 0;
      for (std::size_t c = 0; c < cols; ++c)
        mag += std::fabs(double(deq[r * cols + c]) * lowbit::to_float(x[t * cols + c]));
      const double err = std::fabs(double(y[t * rows + r]) - lowbit::to_float(want[t * rows + r]));
      CHECK_MESSAGE(err <= tol * mag, prefix << " qmm_t [" << t << "," << r << "]");
    }
}

template <class T>
void check_file(const std::string& name, double tol) {
  const golden::file g(name);
  CAPTURE(name);
  check_mode<T>(g, "mxfp4", quant_mode::mxfp4, 0.0f, true, tol);
  check_mode<T>(g, "mxfp8", quant_mode::mxfp8, 0.0f, true, tol);
  check_mode<T>(g, "nvfp4", quant_mode::nvfp4, 0.0f, true, tol);
  const float gscale = g.get<float>("nvfp4_gs.global_scale").at(0);
  CHECK(gscale > 0.0f);
  check_mode<T>(g, "nvfp4_gs", quant_mode::nvfp4, gscale, false, tol);
}

}  // namespace

TEST_CASE("fp modes from f32 weights match MLX bit-exactly") {
  check_file<float>("fp_modes_f32.safetensors", 1e-5);
}
TEST_CASE("fp modes from bf16 weights match MLX bit-exactly") {
  check_file<lowbit::bf16>("fp_modes_bf16.safetensors", 5e-2);
}

TEST_CASE("mxfp4 worked example from research/mlx.md: the tie pattern of row 6") {
  const golden::file g("fp_modes_f32.safetensors");
  const auto wq = g.get<std::uint32_t>("mxfp4.wq");
  // Row 6 holds 6,5,3.5,2.5,1.75,1.25,0.75,0.25 | -0.25,-0.75,...,-5,-0.1 with scale 2^0.
  CHECK(wq[6 * 32 + 0] == 0x01234567u);
  CHECK(wq[6 * 32 + 1] == 0x0edcba90u);
}
