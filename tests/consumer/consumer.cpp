// A consumer of an installed (or vendored) lowbit, written only against the
// DESIGN.md §3 API. The three consumer projects (find_package, add_subdirectory,
// pkg-config) compile this same file and run it; it exits non-zero on any
// wrong result. The expected values are worked out by hand below, not by lowbit.
#include <lowbit/lowbit.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "consumer: FAILED: %s\n", what.c_str());
    ++failures;
  }
}

// Rows of the ramp 0, 1, ..., 15, 0, 1, ... (row r shifted by r). In 4-bit affine
// with group 64 MLX's quantizer finds max 15 > |min 0|, so scale = -1 and bias = 15:
// q = 15 - w, every value is reconstructed exactly and the first packed word of
// row 0 holds q = 15, 14, ..., 8 from the least significant nibble up.
void affine_ramp() {
  constexpr std::size_t rows = 4, cols = 128;
  const lowbit::quant_format f{lowbit::quant_mode::affine, 4, 64};
  std::vector<float> w(rows * cols);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) w[r * cols + c] = static_cast<float>((c + r) % 16);

  std::vector<std::uint32_t> packed(rows * cols * 4 / 32);
  std::vector<float> scales(rows * cols / 64), biases(rows * cols / 64);
  lowbit::quantize(f, w.data(), rows, cols, packed.data(), scales.data(), biases.data());
  check(packed[0] == 0x89ABCDEFu, "packed[0] of the ramp is 0x89ABCDEF");
  check(scales[0] == -1.0f && biases[0] == 15.0f, "ramp scale -1, bias 15");

  const lowbit::qmatrix<float> q{packed.data(), scales.data(), biases.data(), rows, cols, f};
  std::vector<float> back(rows * cols);
  lowbit::dequantize(q, back.data());
  for (std::size_t i = 0; i < w.size(); ++i)
    if (back[i] != w[i]) {
      check(false, "ramp dequantizes exactly at element " + std::to_string(i));
      break;
    }

  // x = 1: y[r] = sum of row r, which is 8 repetitions of 0 + ... + 15 = 960 in every row.
  std::vector<float> x(cols, 1.0f), y(rows, -1.0f);
  lowbit::qmv(q, x.data(), y.data());
  for (std::size_t r = 0; r < rows; ++r) check(y[r] == 960.0f, "qmv of the ramp with x = 1 is 960");
}

// Smooth values in f16: dequantize within one scale step of the input (not half:
// MLX re-derives scale = edge / rint(edge / scale), which can shorten the range so
// the far extreme clamps up to ~one step short), and
// qmv agrees with a double-precision dot product over the dequantized matrix.
void affine_f16() {
  constexpr std::size_t rows = 16, cols = 256;
  const lowbit::quant_format f{lowbit::quant_mode::affine, 8, 32};
  std::vector<lowbit::f16> w(rows * cols);
  for (std::size_t i = 0; i < w.size(); ++i)
    w[i] = lowbit::from_float<lowbit::f16>(std::sin(0.37f * static_cast<float>(i)));

  std::vector<std::uint32_t> packed(rows * cols * 8 / 32);
  std::vector<lowbit::f16> scales(rows * cols / 32), biases(rows * cols / 32);
  lowbit::quantize(f, w.data(), rows, cols, packed.data(), scales.data(), biases.data());
  const lowbit::qmatrix<lowbit::f16> q{packed.data(), scales.data(), biases.data(), rows, cols, f};

  std::vector<float> back(rows * cols);
  lowbit::dequantize(q, back.data());
  double worst = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double step = std::fabs(static_cast<double>(lowbit::to_float(scales[i / 32])));
    const double err = std::fabs(back[i] - static_cast<double>(lowbit::to_float(w[i])));
    if (err > step + 2e-3) worst = std::max(worst, err);  // 2e-3: f16 rounding of scale and bias
  }
  check(worst == 0, "8-bit f16 dequantize within one step, worst error " + std::to_string(worst));

  std::vector<float> x(cols), y(rows);
  for (std::size_t c = 0; c < cols; ++c) x[c] = std::cos(0.11f * static_cast<float>(c));
  lowbit::qmv(q, x.data(), y.data());
  for (std::size_t r = 0; r < rows; ++r) {
    double ref = 0, mag = 0;
    for (std::size_t c = 0; c < cols; ++c) {
      ref += static_cast<double>(back[r * cols + c]) * x[c];
      mag += std::fabs(static_cast<double>(back[r * cols + c]) * x[c]);
    }
    check(std::fabs(y[r] - ref) <= 1e-5 * mag + 1e-6,
          "qmv row " + std::to_string(r) + " matches dot product");
  }
}

// mxfp4: powers of two times E2M1 values are exact, so w = 2 * {0, 0.5, ..., 6}
// round-trips; the group's max 12 gives E8M0 scale 2^1 (code 128).
void mxfp4_exact() {
  constexpr std::size_t rows = 2, cols = 32;
  const lowbit::quant_format f{lowbit::quant_mode::mxfp4, 4, 32};
  const float e2m1[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  std::vector<float> w(rows * cols);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = 2.0f * e2m1[i % 8] * (i % 16 < 8 ? 1.0f : -1.0f);
  std::vector<std::uint32_t> packed(rows * cols * 4 / 32);
  std::vector<std::uint8_t> scales(rows * cols / 32);
  lowbit::quantize(f, w.data(), rows, cols, packed.data(), scales.data(),
                   static_cast<std::uint8_t*>(nullptr));
  const lowbit::qmatrix<std::uint8_t> q{packed.data(), scales.data(), nullptr, rows, cols, f};
  std::vector<float> back(rows * cols);
  lowbit::dequantize(q, back.data());
  check(back == w, "mxfp4 round trip of exactly representable values");
}

void errors() {
  bool threw = false;
  try {
    lowbit::validate(lowbit::quant_format{lowbit::quant_mode::affine, 7, 64});
  } catch (const lowbit::error& e) {
    threw = std::string(e.what()).find('7') != std::string::npos;
  }
  check(threw, "validate rejects 7-bit affine with a message naming 7");
}

}  // namespace

int main() {
  try {
    affine_ramp();
    affine_f16();
    mxfp4_exact();
    errors();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: unexpected exception: %s\n", e.what());
    return 1;
  }
  if (failures) return 1;
  std::puts("consumer: all checks passed");
  return 0;
}
