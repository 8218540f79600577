// The element types a safetensors file can name, with their sizes and on-disk names.
#pragma once

#include <lowbit/core/error.hpp>
#include <lowbit/core/half.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lowbit::io {

/// Element types of the safetensors format (names as in its header: "F32", "BF16", ...).
/// F4 / F6_* are sub-byte (packed) types: use dtype_bits(), dtype_size() rejects them.
enum class dtype {
  BOOL,
  U8,
  I8,
  U16,
  I16,
  U32,
  I32,
  U64,
  I64,  //
  F16,
  BF16,
  F32,
  F64,  //
  F8_E4M3,
  F8_E5M2,
  F8_E8M0,  //
  F4,
  F6_E2M3,
  F6_E3M2,
};

namespace detail {
using lowbit::detail::checked_mul;
using lowbit::detail::fail;

struct dtype_entry {
  dtype type;
  std::string_view name;
  unsigned bits;
};
inline constexpr dtype_entry dtype_table[] = {
    {dtype::BOOL, "BOOL", 8},       {dtype::U8, "U8", 8},           {dtype::I8, "I8", 8},
    {dtype::U16, "U16", 16},        {dtype::I16, "I16", 16},        {dtype::U32, "U32", 32},
    {dtype::I32, "I32", 32},        {dtype::U64, "U64", 64},        {dtype::I64, "I64", 64},
    {dtype::F16, "F16", 16},        {dtype::BF16, "BF16", 16},      {dtype::F32, "F32", 32},
    {dtype::F64, "F64", 64},        {dtype::F8_E4M3, "F8_E4M3", 8}, {dtype::F8_E5M2, "F8_E5M2", 8},
    {dtype::F8_E8M0, "F8_E8M0", 8}, {dtype::F4, "F4", 4},           {dtype::F6_E2M3, "F6_E2M3", 6},
    {dtype::F6_E3M2, "F6_E3M2", 6},
};
inline constexpr const dtype_entry& entry(dtype t) { return dtype_table[static_cast<std::size_t>(t)]; }
}  // namespace detail

/// Bits per element (4 for F4, 16 for BF16, ...).
constexpr unsigned dtype_bits(dtype t) { return detail::entry(t).bits; }

/// Bytes per element; throws for the packed sub-byte types.
inline std::size_t dtype_size(dtype t) {
  const unsigned bits = dtype_bits(t);
  if (bits % 8 != 0)
    detail::fail("lowbit::io::dtype_size: {} is a sub-byte type ({} bits)", detail::entry(t).name, bits);
  return bits / 8;
}

/// The name used in safetensors headers.
constexpr std::string_view to_string(dtype t) { return detail::entry(t).name; }

/// Parses a safetensors dtype name; nullopt if the format has no such name.
constexpr std::optional<dtype> parse_dtype(std::string_view name) {
  for (const auto& e : detail::dtype_table)
    if (e.name == name) return e.type;
  return std::nullopt;
}

/// The safetensors dtype that stores elements of C++ type T (for the typed accessors and the writer).
template <class T>
struct dtype_of;
template <>
struct dtype_of<std::uint8_t> {
  static constexpr dtype value = dtype::U8;
};
template <>
struct dtype_of<std::int8_t> {
  static constexpr dtype value = dtype::I8;
};
template <>
struct dtype_of<std::uint16_t> {
  static constexpr dtype value = dtype::U16;
};
template <>
struct dtype_of<std::int16_t> {
  static constexpr dtype value = dtype::I16;
};
template <>
struct dtype_of<std::uint32_t> {
  static constexpr dtype value = dtype::U32;
};
template <>
struct dtype_of<std::int32_t> {
  static constexpr dtype value = dtype::I32;
};
template <>
struct dtype_of<std::uint64_t> {
  static constexpr dtype value = dtype::U64;
};
template <>
struct dtype_of<std::int64_t> {
  static constexpr dtype value = dtype::I64;
};
template <>
struct dtype_of<float> {
  static constexpr dtype value = dtype::F32;
};
template <>
struct dtype_of<double> {
  static constexpr dtype value = dtype::F64;
};
template <>
struct dtype_of<f16> {
  static constexpr dtype value = dtype::F16;
};
template <>
struct dtype_of<bf16> {
  static constexpr dtype value = dtype::BF16;
};

}  // namespace lowbit::io
