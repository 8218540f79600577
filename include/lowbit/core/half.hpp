// 16-bit floating-point storage types: IEEE binary16 (f16) and bfloat16 (bf16).
// Conversions from float round to nearest, ties to even (what MLX's x86 CPU
// backend and every hardware converter do); NaN stays NaN.
#pragma once

#include <bit>
#include <cstdint>
#include <type_traits>

namespace lowbit {

namespace detail {

constexpr std::uint16_t float_to_f16_bits(float f) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  std::uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return static_cast<std::uint16_t>(sign | (ax > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (ax >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
  if (ax < 0x38800000u) {
    // Below 2^-14 the result is subnormal: adding 0.5f (ulp 2^-24, the f16
    // subnormal step) makes the FPU do the RNE for us.
    const float t = std::bit_cast<float>(ax) + 0.5f;
    return static_cast<std::uint16_t>(sign | (std::bit_cast<std::uint32_t>(t) - 0x3f000000u));
  }
  const std::uint32_t odd = (ax >> 13) & 1u;
  ax += 0xc8000fffu + odd;  // rebias exponent 127 -> 15, add the RNE rounding term
  return static_cast<std::uint16_t>(sign | (ax >> 13));
}

constexpr float f16_bits_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t e = (h >> 10) & 0x1fu;
  const std::uint32_t m = h & 0x3ffu;
  if (e == 0) {
    const float v = static_cast<float>(m) * 5.9604644775390625e-8f;  // m * 2^-24, exact
    return std::bit_cast<float>(std::bit_cast<std::uint32_t>(v) | sign);
  }
  if (e == 31) return std::bit_cast<float>(sign | 0x7f800000u | (m << 13));
  return std::bit_cast<float>(sign | ((e + 112u) << 23) | (m << 13));
}

constexpr std::uint16_t float_to_bf16_bits(float f) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

constexpr float bf16_bits_to_float(std::uint16_t b) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

}  // namespace detail

/// IEEE 754 binary16 storage. Arithmetic is done by converting to float.
struct f16 {
  std::uint16_t bits = 0;
  constexpr f16() = default;
  constexpr explicit f16(float v) noexcept : bits(detail::float_to_f16_bits(v)) {}
  constexpr explicit operator float() const noexcept { return detail::f16_bits_to_float(bits); }
  static constexpr f16 from_bits(std::uint16_t b) noexcept {
    f16 h;
    h.bits = b;
    return h;
  }
  friend constexpr bool operator==(f16, f16) = default;
};

/// bfloat16 storage (the top half of a float). Arithmetic is done in float.
struct bf16 {
  std::uint16_t bits = 0;
  constexpr bf16() = default;
  constexpr explicit bf16(float v) noexcept : bits(detail::float_to_bf16_bits(v)) {}
  constexpr explicit operator float() const noexcept { return detail::bf16_bits_to_float(bits); }
  static constexpr bf16 from_bits(std::uint16_t b) noexcept {
    bf16 h;
    h.bits = b;
    return h;
  }
  friend constexpr bool operator==(bf16, bf16) = default;
};

static_assert(sizeof(f16) == 2 && sizeof(bf16) == 2);

constexpr float to_float(f16 v) noexcept { return static_cast<float>(v); }
constexpr float to_float(bf16 v) noexcept { return static_cast<float>(v); }
constexpr float to_float(float v) noexcept { return v; }

/// float -> T with round-to-nearest-even; T = f16, bf16 or float (identity).
template <class T>
constexpr T from_float(float v) noexcept {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else {
    return T(v);
  }
}

/// True for the element types lowbit stores weights, scales and activations in.
template <class T>
inline constexpr bool is_float_storage_v =
    std::is_same_v<T, float> || std::is_same_v<T, f16> || std::is_same_v<T, bf16>;

template <class T>
constexpr const char* dtype_name() noexcept {
  if constexpr (std::is_same_v<T, float>)
    return "f32";
  else if constexpr (std::is_same_v<T, f16>)
    return "f16";
  else if constexpr (std::is_same_v<T, bf16>)
    return "bf16";
  else if constexpr (std::is_same_v<T, std::uint8_t>)
    return "u8";
  else
    return "?";
}

}  // namespace lowbit
