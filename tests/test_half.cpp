// f16 / bf16 conversions: exhaustive decode round trips and RNE encoding
// checked against an independent nearest-value search in double.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "lowbit/core/half.hpp"

namespace {

// Nearest value among the two bracketing codes (found by a linear scan over
// the sorted positive codes), ties to the even code: the definition of RNE.
template <class Decode>
std::uint16_t nearest_code(double x, std::uint16_t max_finite, std::uint16_t inf_code, double overflow,
                           Decode decode) {
  const bool neg = std::signbit(x);
  const double a = std::fabs(x);
  const std::uint16_t sign = neg ? (inf_code == 0x7c00 ? 0x8000 : 0x8000) : 0;
  if (a >= overflow) return static_cast<std::uint16_t>(sign | inf_code);
  // Binary search over the monotone positive codes [0, max_finite].
  std::uint16_t lo = 0, hi = max_finite;
  while (hi - lo > 1) {
    const std::uint16_t mid = static_cast<std::uint16_t>((lo + hi) / 2);
    if (decode(mid) <= a)
      lo = mid;
    else
      hi = mid;
  }
  const double dl = a - decode(lo), dh = decode(hi) - a;
  std::uint16_t c = dl < dh ? lo : dh < dl ? hi : ((lo & 1) ? hi : lo);
  if (a >= decode(max_finite)) c = max_finite;
  return static_cast<std::uint16_t>(sign | c);
}

double f16_value(std::uint16_t c) { return static_cast<double>(lowbit::detail::f16_bits_to_float(c)); }
double bf16_value(std::uint16_t c) { return static_cast<double>(lowbit::detail::bf16_bits_to_float(c)); }

}  // namespace

TEST_CASE("f16 decode/encode round-trips every finite code") {
  for (std::uint32_t c = 0; c < 0x10000; ++c) {
    const auto h = lowbit::f16::from_bits(static_cast<std::uint16_t>(c));
    const float f = lowbit::to_float(h);
    if (std::isnan(f)) {
      CHECK(std::isnan(lowbit::to_float(lowbit::f16(f))));
      continue;
    }
    CHECK(lowbit::f16(f).bits == c);
  }
  CHECK(lowbit::to_float(lowbit::f16::from_bits(0x3c00)) == 1.0f);
  CHECK(lowbit::to_float(lowbit::f16::from_bits(0x0001)) == std::ldexp(1.0f, -24));
  CHECK(lowbit::to_float(lowbit::f16::from_bits(0x7bff)) == 65504.0f);
}

TEST_CASE("bf16 decode/encode round-trips every finite code") {
  for (std::uint32_t c = 0; c < 0x10000; ++c) {
    const auto h = lowbit::bf16::from_bits(static_cast<std::uint16_t>(c));
    const float f = lowbit::to_float(h);
    if (std::isnan(f)) continue;
    CHECK(lowbit::bf16(f).bits == c);
  }
}

TEST_CASE("f16 and bf16 encoding is round-to-nearest-even") {
  std::mt19937_64 rng(42);
  // Random bit patterns cover every binade; plus the exact midpoints, where RNE matters.
  for (int i = 0; i < 200000; ++i) {
    float x = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
    if (std::isnan(x)) continue;
    if (i % 2) x = std::ldexp(std::fmod(x, 1.0f), static_cast<int>(rng() % 40) - 28);  // into f16's range
    const std::uint16_t f16_expect =
        nearest_code(x, 0x7bff, 0x7c00, 65520.0, f16_value);  // 65504 + half ulp rounds to inf
    REQUIRE_MESSAGE(lowbit::f16(x).bits == f16_expect, "x=" << x);
    const double bf_overflow = std::ldexp(2.0 - std::ldexp(1.0, -8), 127);  // max + half ulp
    const std::uint16_t bf16_expect = nearest_code(x, 0x7f7f, 0x7f80, bf_overflow, bf16_value);
    REQUIRE_MESSAGE(lowbit::bf16(x).bits == bf16_expect, "x=" << x);
  }
  CHECK(lowbit::f16(1.0f + std::ldexp(1.0f, -11)).bits == 0x3c00);      // tie -> even (down)
  CHECK(lowbit::f16(1.0f + 3 * std::ldexp(1.0f, -11)).bits == 0x3c02);  // tie -> even (up)
  CHECK(lowbit::bf16(1.0f + std::ldexp(1.0f, -8)).bits == 0x3f80);
  CHECK(lowbit::bf16(1.0f + 3 * std::ldexp(1.0f, -8)).bits == 0x3f82);
  CHECK(lowbit::f16(std::numeric_limits<float>::infinity()).bits == 0x7c00);
  CHECK(lowbit::bf16(-std::numeric_limits<float>::infinity()).bits == 0xff80);
  CHECK(std::isnan(lowbit::to_float(lowbit::bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST_CASE("from_float / to_float") {
  CHECK(lowbit::from_float<float>(0.1f) == 0.1f);
  CHECK(lowbit::from_float<lowbit::f16>(0.5f).bits == 0x3800);
  CHECK(lowbit::to_float(lowbit::from_float<lowbit::bf16>(-2.0f)) == -2.0f);
}
