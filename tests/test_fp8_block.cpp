// FP8 block-scaled checkpoints (DeepSeek-V3 style): out = e4m3(w) * scale_inv[i/128, j/128],
// with partial edge blocks, against a value computed here from the E4M3 bit fields.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "lowbit/lowbit.hpp"

namespace {
double e4m3(int c) {
  const int e = (c >> 3) & 15, m = c & 7;
  const double v = e == 0 ? m * std::ldexp(1.0, -9) : (8 + m) * std::ldexp(1.0, e - 10);
  return (c & 0x80) ? -v : v;
}
}  // namespace

TEST_CASE("fp8 block dequantization with partial edge blocks, f32 and bf16 scales") {
  std::mt19937 rng(5);
  const std::size_t rows = 130, cols = 200, br = 128, bc = 128;
  std::vector<std::uint8_t> w(rows * cols);
  for (auto& c : w) c = static_cast<std::uint8_t>(rng());
  std::vector<float> s(2 * 2);
  for (auto& v : s) v = std::ldexp(std::uniform_real_distribution<float>(1, 2)(rng), int(rng() % 10) - 5);
  std::vector<lowbit::bf16> s16;
  for (float v : s) s16.push_back(lowbit::bf16(v));

  std::vector<float> out(rows * cols);
  std::vector<lowbit::bf16> out16(rows * cols);
  lowbit::dequantize_fp8_block(w.data(), s.data(), rows, cols, out.data());
  lowbit::dequantize_fp8_block(w.data(), s16.data(), rows, cols, out16.data(), br, bc);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) {
      const std::size_t k = (i / br) * 2 + j / bc;
      const double expect = e4m3(w[i * cols + j]) * s[k];  // exact in double
      REQUIRE(out[i * cols + j] == static_cast<float>(expect));
      const double expect16 = e4m3(w[i * cols + j]) * double(lowbit::to_float(s16[k]));
      REQUIRE(out16[i * cols + j].bits == lowbit::bf16(static_cast<float>(expect16)).bits);
    }
}

TEST_CASE("fp8 block with non-default block shape") {
  const std::uint8_t w[6] = {0x38, 0x40, 0xb8, 0x00, 0x7e, 0x01};  // 1, 2, -1, 0, 448, 2^-9
  const float s[3] = {2.0f, 0.5f, 4.0f};  // blocks of [1 row, 2 cols]... [2,3] -> 2x2
  float out[6];
  lowbit::dequantize_fp8_block(w, s, 2, 3, out, 2, 1);  // scale_inv [1, 3]
  CHECK(out[0] == 2.0f);
  CHECK(out[1] == 1.0f);
  CHECK(out[2] == -4.0f);
  CHECK(out[3] == 0.0f);
  CHECK(out[4] == 224.0f);
  CHECK(out[5] == std::ldexp(4.0f, -9));
}
