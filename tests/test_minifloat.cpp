// FP8 E4M3 / E5M2, E8M0 and FP4 E2M1 codecs against independent definitions:
// decoding from the bit-field formula written here, encoding by brute-force
// nearest search over all codes (RNE on ties, MLX's saturation rules).
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "lowbit/core/minifloat.hpp"

namespace {
double e4m3_formula(int c) {
  const int e = (c >> 3) & 15, m = c & 7;
  const double v = e == 0 ? m / 8.0 * std::ldexp(1.0, -6) : (1 + m / 8.0) * std::ldexp(1.0, e - 7);
  return (c & 0x80) ? -v : v;
}
double e5m2_formula(int c) {
  const int e = (c >> 2) & 31, m = c & 3;
  const double v = e == 0 ? m / 4.0 * std::ldexp(1.0, -14) : (1 + m / 4.0) * std::ldexp(1.0, e - 15);
  return (c & 0x80) ? -v : v;
}
// Nearest among codes [0, max_code] (positive), ties to even mantissa.
template <class F>
int nearest(double a, int max_code, F value) {
  int best = 0;
  for (int c = 1; c <= max_code; ++c) {
    const double d = std::fabs(value(c) - a), db = std::fabs(value(best) - a);
    if (d < db || (d == db && (c & 1) == 0 && (best & 1) == 1)) best = c;
  }
  return best;
}
}  // namespace

TEST_CASE("e4m3 decode matches the bit-field definition; 0x7F decodes to 480") {
  for (int c = 0; c < 256; ++c)
    CHECK(lowbit::fp8_e4m3_to_float(static_cast<std::uint8_t>(c)) == e4m3_formula(c));
  CHECK(lowbit::fp8_e4m3_to_float(0x7e) == 448.0f);
  CHECK(lowbit::fp8_e4m3_to_float(0x7f) == 480.0f);
  CHECK(lowbit::fp8_e4m3_to_float(0xff) == -480.0f);
}

TEST_CASE("e4m3 encode: RNE, saturating to 448, NaN -> 0x7E") {
  std::mt19937 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const float x = std::ldexp(std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng), int(rng() % 24) - 14);
    const int mag = std::fabs(x) >= 448.0 ? 0x7e : nearest(std::fabs(x), 0x7e, e4m3_formula);
    const int expect = (std::signbit(x) ? 0x80 : 0) | mag;
    REQUIRE_MESSAGE(lowbit::float_to_fp8_e4m3(x) == expect, "x=" << x);
  }
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7f) == 0x7f) continue;  // 480 is not an encodable value: it saturates
    CHECK(lowbit::float_to_fp8_e4m3(static_cast<float>(e4m3_formula(c))) == c);
  }
  CHECK(lowbit::float_to_fp8_e4m3(464.0f) == 0x7e);
  CHECK(lowbit::float_to_fp8_e4m3(1e6f) == 0x7e);
  CHECK(lowbit::float_to_fp8_e4m3(-std::numeric_limits<float>::infinity()) == 0xfe);
  CHECK(lowbit::float_to_fp8_e4m3(std::numeric_limits<float>::quiet_NaN()) == 0x7e);
  CHECK(lowbit::float_to_fp8_e4m3(1e-30f) == 0x00);
}

TEST_CASE("e5m2 decode and encode") {
  for (int c = 0; c < 256; ++c) {
    const float v = lowbit::fp8_e5m2_to_float(static_cast<std::uint8_t>(c));
    if (((c >> 2) & 31) == 31) {
      CHECK(((c & 3) == 0 ? std::isinf(v) : std::isnan(v)));
      continue;
    }
    CHECK(v == e5m2_formula(c));
    CHECK(lowbit::float_to_fp8_e5m2(v) == c);
  }
  std::mt19937 rng(9);
  for (int i = 0; i < 50000; ++i) {
    const float x = std::ldexp(std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng), int(rng() % 36) - 18);
    const int mag = std::fabs(x) >= 61440.0 ? 0x7c : nearest(std::fabs(x), 0x7b, e5m2_formula);
    REQUIRE_MESSAGE(lowbit::float_to_fp8_e5m2(x) == ((std::signbit(x) ? 0x80 : 0) | mag), "x=" << x);
  }
}

TEST_CASE("e8m0 and e2m1") {
  for (int s = 1; s < 255; ++s)
    CHECK(lowbit::e8m0_to_float(static_cast<std::uint8_t>(s)) == std::ldexp(1.0f, s - 127));
  CHECK(lowbit::e8m0_to_float(0) == std::ldexp(1.0f, -127));
  CHECK(std::isinf(lowbit::e8m0_to_float(255)));
  const float pos[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (int c = 0; c < 16; ++c)
    CHECK(lowbit::fp4_e2m1_to_float(static_cast<std::uint8_t>(c)) == (c & 8 ? -pos[c & 7] : pos[c & 7]));
}
