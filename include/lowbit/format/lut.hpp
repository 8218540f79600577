// What a LUT ("palettized") weight IS: one table of 2^bits values per group of
// `group_size` consecutive OUTPUT rows, and one bits-wide index per weight.
// Indices form a single LSB-first little-endian bit stream over the row-major
// [experts, rows, cols] index tensor: index i occupies stream bits
// [i*bits, i*bits + bits), stream bit p is bit p%8 of byte p/8. That is the
// CoreML iOS18 `constexpr_lut_to_dense` / weight.bin order and, for a single
// per-tensor LUT, the iOS16 flat uint8 form (research/lut.md §2). LUT entries
// are in no particular order: readers never assume a sorted table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lowbit/core/error.hpp"
#include "lowbit/core/half.hpp"

namespace lowbit {

struct lut_format {
  int bits = 4;
  std::size_t group_size = 8;  // output rows per LUT; 0 = per tensor (one LUT per expert)
};

/// Optional per-channel scale applied after the lookup: W = lut[idx] * s.
/// `input_columns` is what coremltools' Core ML pass stores for
/// `enable_per_channel_scale` (it reduces max|W| over the output axis, giving
/// s[1, cols]); `output_rows` is what its docs and torch path describe (s[rows, 1]).
enum class lut_channel_scale { none, output_rows, input_columns };

/// Non-owning view of palettized W[experts][rows][cols] (rows = out features).
/// L: float or f16 (bf16, int8 and uint8 tables can be read too: CoreML allows
/// int8/uint8 LUTs). `scales` has the element type of the LUT; experts*rows
/// (output_rows) or experts*cols (input_columns) values.
template <class L>
struct lut_matrix {
  const std::uint8_t* indices;  // ceil(experts*rows*cols*bits/8) bytes, one LSB-first bit stream
  const L* lut;                 // lut_groups(format, rows, experts) * 2^bits entries
  std::size_t rows, cols;
  lut_format format;
  std::size_t experts = 1;
  const L* scales = nullptr;
  lut_channel_scale channel_scale = lut_channel_scale::none;
};

constexpr std::string_view to_string(lut_channel_scale s) noexcept {
  switch (s) {
    case lut_channel_scale::none:
      return "none";
    case lut_channel_scale::output_rows:
      return "output_rows";
    case lut_channel_scale::input_columns:
      return "input_columns";
  }
  return "unknown";
}

// ---------------------------------------------------------------- sizes

constexpr std::size_t lut_entries(const lut_format& f) noexcept { return std::size_t{1} << f.bits; }

/// Output rows that share one LUT (group_size 0 = all rows of an expert).
constexpr std::size_t lut_rows_per_group(const lut_format& f, std::size_t rows) noexcept {
  return f.group_size == 0 ? rows : f.group_size;
}

/// Number of LUTs for `experts` stacked [rows, cols] matrices (format validated).
constexpr std::size_t lut_groups(const lut_format& f, std::size_t rows, std::size_t experts = 1) noexcept {
  return experts * (f.group_size == 0 ? 1 : rows / f.group_size);
}

/// Bytes of the packed index stream.
inline std::size_t lut_index_bytes(const lut_format& f, std::size_t rows, std::size_t cols,
                                   std::size_t experts = 1) {
  const std::size_t n =
      detail::checked_mul(detail::checked_mul(experts, rows, "lut_index_bytes"), cols, "lut_index_bytes");
  return (detail::checked_mul(n, static_cast<std::size_t>(f.bits), "lut_index_bytes") + 7) / 8;
}

/// Number of per-channel scale values.
constexpr std::size_t lut_scale_count(lut_channel_scale s, std::size_t rows, std::size_t cols,
                                      std::size_t experts = 1) noexcept {
  return s == lut_channel_scale::none ? 0 : experts * (s == lut_channel_scale::output_rows ? rows : cols);
}

/// Bytes of a whole palettized tensor: indices + LUTs (+ scales), each LUT
/// entry `lut_elem_bytes` wide (2 for the fp16 tables CoreML/ANEMLL store).
inline std::size_t lut_tensor_bytes(const lut_format& f, std::size_t rows, std::size_t cols,
                                    std::size_t experts = 1, std::size_t lut_elem_bytes = 2,
                                    lut_channel_scale s = lut_channel_scale::none) {
  const std::size_t table =
      detail::checked_mul(lut_groups(f, rows, experts), lut_entries(f), "lut_tensor_bytes");
  return lut_index_bytes(f, rows, cols, experts) +
         (table + lut_scale_count(s, rows, cols, experts)) * lut_elem_bytes;
}

/// Bits per weight including the tables (the figure lut_anchor.md reports).
inline double lut_bits_per_weight(const lut_format& f, std::size_t rows, std::size_t cols,
                                  std::size_t lut_elem_bytes = 2) {
  const double table_bits = static_cast<double>(lut_groups(f, rows) * lut_entries(f) * lut_elem_bytes * 8);
  return f.bits + table_bits / (static_cast<double>(rows) * static_cast<double>(cols));
}

// ---------------------------------------------------------------- validation

/// Throws unless bits is in 1..8. CoreML accepts {1,2,3,4,6,8}; 5 and 7 are
/// lowbit extensions (same stream rule); `coreml_ios18_bits` tells them apart.
inline void validate(const lut_format& f) {
  if (f.bits < 1 || f.bits > 8) detail::fail("lut_format: unsupported bits {} (supported: 1..8)", f.bits);
}

constexpr bool coreml_ios18_bits(int bits) noexcept {
  return bits == 1 || bits == 2 || bits == 3 || bits == 4 || bits == 6 || bits == 8;
}
constexpr bool coreml_ios16_bits(int bits) noexcept {
  return bits == 1 || bits == 2 || bits == 4 || bits == 6 || bits == 8;
}

/// Throws unless `experts` stacked [rows, cols] matrices fit `f`: non-empty and
/// group_size dividing rows (coremltools silently skips such weights instead).
inline void validate_lut_shape(const lut_format& f, std::size_t rows, std::size_t cols, std::size_t experts,
                               const char* who) {
  validate(f);
  if (rows == 0 || cols == 0 || experts == 0)
    detail::fail("{}: empty LUT matrix [{}, {}, {}]", who, experts, rows, cols);
  if (f.group_size != 0 && rows % f.group_size != 0)
    detail::fail("{}: rows {} is not a multiple of the LUT group_size {} (output rows per LUT)", who, rows,
                 f.group_size);
  (void)lut_index_bytes(f, rows, cols, experts);  // overflow check
}

template <class L>
void validate(const lut_matrix<L>& w, const char* who) {
  validate_lut_shape(w.format, w.rows, w.cols, w.experts, who);
  if (w.indices == nullptr || w.lut == nullptr) detail::fail("{}: null indices or LUT pointer", who);
  if (w.channel_scale != lut_channel_scale::none && w.scales == nullptr)
    detail::fail("{}: channel_scale {} needs a scales pointer", who, to_string(w.channel_scale));
}

// ---------------------------------------------------------------- the index stream

/// Index `i` of the stream (bits in 1..8): reads byte p/8 and, only when the
/// index straddles a byte boundary, byte p/8 + 1.
inline std::uint32_t lut_index_at(const std::uint8_t* stream, std::size_t i, int bits) noexcept {
  const std::size_t p = i * static_cast<std::size_t>(bits);
  const unsigned off = static_cast<unsigned>(p & 7);
  std::uint32_t v = stream[p >> 3] >> off;
  if (off + static_cast<unsigned>(bits) > 8)
    v |= static_cast<std::uint32_t>(stream[(p >> 3) + 1]) << (8 - off);
  return v & ((1u << bits) - 1u);
}

/// Unpacks indices [first, first + n) of the stream into bytes.
inline void unpack_lut_indices(const std::uint8_t* stream, std::size_t first, std::size_t n, int bits,
                               std::uint8_t* out) noexcept {
  if (bits == 8) {
    for (std::size_t j = 0; j < n; ++j) out[j] = stream[first + j];
    return;
  }
  for (std::size_t j = 0; j < n; ++j)
    out[j] = static_cast<std::uint8_t>(lut_index_at(stream, first + j, bits));
}

/// Writes n indices (each < 2^bits) into the stream starting at index `first`.
/// Bits outside the written range are preserved, so independent writers may
/// fill disjoint ranges whose boundaries fall on whole bytes; the caller zeroes
/// the stream first (tail bits of the last byte stay zero, as CoreML writes them).
inline void pack_lut_indices(const std::uint8_t* idx, std::size_t first, std::size_t n, int bits,
                             std::uint8_t* stream) noexcept {
  const std::uint32_t mask = (1u << bits) - 1u;
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t p = (first + j) * static_cast<std::size_t>(bits);
    const unsigned off = static_cast<unsigned>(p & 7);
    const std::uint32_t v = (idx[j] & mask) << off;  // up to 15 bits
    stream[p >> 3] = static_cast<std::uint8_t>((stream[p >> 3] & ~(mask << off)) | v);
    if (off + static_cast<unsigned>(bits) > 8) {
      const std::uint32_t hi_mask = mask >> (8 - off);
      stream[(p >> 3) + 1] = static_cast<std::uint8_t>((stream[(p >> 3) + 1] & ~hi_mask) | (v >> 8));
    }
  }
}

}  // namespace lowbit
