// 8- and 4-bit floating-point codecs used by the MX/NV microscaling modes and
// FP8 checkpoints. Semantics follow MLX's CPU backend (research/mlx.md §2):
//  - E4M3 "fn": bias 7, max 448, no inf; encoding rounds to nearest even and
//    saturates (|x| >= 464, +-inf and NaN give +-448 = 0x7E/0xFE); decoding is
//    total: 0x7F/0xFF decode to +-480 (MLX has no NaN code).
//  - E5M2: bias 15, IEEE-like (inf and NaN exist), RNE, overflow to inf.
//  - E8M0: unsigned power of two 2^(s-127); s = 0 decodes to 2^-127, 255 to +inf.
//  - E2M1 (fp4): {0, .5, 1, 1.5, 2, 3, 4, 6}, bit 3 is the sign.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace lowbit {

namespace detail {
constexpr float e4m3_decode_formula(std::uint8_t c) noexcept {
  const std::uint32_t e = (c >> 3) & 0xfu;
  const std::uint32_t m = c & 7u;
  // Subnormals are m * 2^-9; normals (1 + m/8) * 2^(e-7). 2^-9 is exact in float.
  float v =
      e == 0 ? static_cast<float>(m) * 0.001953125f : std::bit_cast<float>(((e + 120u) << 23) | (m << 20));
  return (c & 0x80u) ? -v : v;
}
}  // namespace detail

/// FP8 E4M3 ("fn") -> float. Total: 0x7F decodes to 480 as in MLX.
constexpr float fp8_e4m3_to_float(std::uint8_t c) noexcept { return detail::e4m3_decode_formula(c); }

/// float -> FP8 E4M3 ("fn"), round-to-nearest-even, saturating to +-448; NaN -> 0x7E | sign.
constexpr std::uint8_t float_to_fp8_e4m3(float f) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint8_t>((x >> 24) & 0x80u);
  std::uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x43e00000u) return sign | 0x7eu;  // >= 448 (RNE gives 448 up to 464 anyway), inf, NaN
  if (ax < 0x3c800000u) {
    // Below 2^-6 the code is subnormal (step 2^-9): adding 16384.f (ulp 2^-9)
    // lets the FPU round to nearest even.
    const float t = std::bit_cast<float>(ax) + 16384.0f;
    return static_cast<std::uint8_t>(sign | (std::bit_cast<std::uint32_t>(t) - 0x46800000u));
  }
  const std::uint32_t odd = (ax >> 20) & 1u;
  ax += 0xc407ffffu + odd;  // rebias exponent 127 -> 7 (-120 << 23), add the RNE term
  return static_cast<std::uint8_t>(sign | (ax >> 20));
}

/// FP8 E5M2 -> float (exactly the top byte of an f16).
constexpr float fp8_e5m2_to_float(std::uint8_t c) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(c & 0x80u) << 24;
  const std::uint32_t e = (c >> 2) & 0x1fu;
  const std::uint32_t m = c & 3u;
  if (e == 31) return std::bit_cast<float>(sign | 0x7f800000u | (m << 21));
  if (e == 0) {
    const float v = static_cast<float>(m) * 1.52587890625e-05f;  // m * 2^-16
    return std::bit_cast<float>(std::bit_cast<std::uint32_t>(v) | sign);
  }
  return std::bit_cast<float>(sign | ((e + 112u) << 23) | (m << 21));
}

/// float -> FP8 E5M2, round-to-nearest-even, overflow to inf, NaN -> 0x7F | sign.
constexpr std::uint8_t float_to_fp8_e5m2(float f) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint8_t>((x >> 24) & 0x80u);
  std::uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return sign | 0x7fu;
  if (ax >= 0x47700000u) return sign | 0x7cu;           // >= 61440 (max 57344 + half ulp) -> inf
  if (ax < 0x38800000u) {                               // < 2^-14: subnormal, step 2^-16
    const float t = std::bit_cast<float>(ax) + 128.0f;  // ulp(128) = 2^-16
    return static_cast<std::uint8_t>(sign | (std::bit_cast<std::uint32_t>(t) - 0x43000000u));
  }
  const std::uint32_t odd = (ax >> 21) & 1u;
  ax += 0xc80fffffu + odd;  // rebias 127 -> 15 (-112 << 23), RNE term for 21 dropped bits
  return static_cast<std::uint8_t>(sign | (ax >> 21));
}

/// E8M0 scale byte -> float, as MLX decodes it (through bf16 bits s << 7;
/// s == 0 is the bf16 subnormal 2^-127, s == 255 is +inf).
constexpr float e8m0_to_float(std::uint8_t s) noexcept {
  const std::uint32_t bits = s == 0 ? 0x00400000u : static_cast<std::uint32_t>(s) << 23;
  return std::bit_cast<float>(bits);
}

/// FP4 E2M1 code (low 4 bits) -> float.
inline constexpr std::array<float, 16> fp4_e2m1_values = {
    0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,  //
    -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

constexpr float fp4_e2m1_to_float(std::uint8_t c) noexcept { return fp4_e2m1_values[c & 15u]; }

}  // namespace lowbit
