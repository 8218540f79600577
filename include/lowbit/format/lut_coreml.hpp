// CoreML's two spellings of a palettized const (research/lut.md §2):
// iOS16 `constexpr_lut_to_dense(indices: uint8[M], lut: T[2^n], shape)`,
// per-tensor only, n in {1,2,4,6,8}, M = ceil(n*N/8); and iOS18
// (indices uint{n}[shape], lut [G, 1, ..., 1, 2^n, 1]), grouped along axis 0.
// Both store the same LSB-first stream as lut_matrix, so reading is
// validation plus a view, and writing is a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lowbit/format/lut.hpp"

namespace lowbit {

/// The iOS16 operands, owning. `shape` is the weight's shape (row-major).
template <class L>
struct coreml_ios16_lut {
  std::vector<std::uint8_t> indices;  // ceil(nbits * prod(shape) / 8) bytes
  std::vector<L> lut;                 // 2^nbits entries
  std::vector<std::uint32_t> shape;
};

namespace detail {
/// The weight as a matrix: rows = shape[0], cols = the product of the rest.
inline void coreml_matrix_shape(const std::uint32_t* shape, std::size_t rank, std::size_t& rows,
                                std::size_t& cols, const char* who) {
  if (rank == 0 || shape == nullptr) fail("{}: empty shape", who);
  rows = rank == 1 ? 1 : shape[0];
  cols = 1;
  for (std::size_t a = rank == 1 ? 0 : 1; a < rank; ++a) cols = checked_mul(cols, shape[a], who);
  if (rows == 0 || cols == 0) fail("{}: shape has a zero dimension", who);
}
}  // namespace detail

/// Reader: views iOS16 operands as a per-tensor lut_matrix [shape[0], prod(shape[1:])]
/// (rank 1: [1, shape[0]]). Throws on a LUT size outside {2,4,16,64,256} or an
/// index buffer that is not exactly ceil(nbits*N/8) bytes.
template <class L>
lut_matrix<L> from_coreml_ios16(const std::uint8_t* indices, std::size_t index_bytes, const L* lut,
                                std::size_t lut_size, const std::uint32_t* shape, std::size_t rank) {
  constexpr const char* who = "from_coreml_ios16";
  int bits = 0;
  while (bits < 9 && (std::size_t{1} << bits) < lut_size) ++bits;
  if ((std::size_t{1} << bits) != lut_size || !coreml_ios16_bits(bits))
    detail::fail("{}: LUT has {} entries; iOS16 needs 2, 4, 16, 64 or 256", who, lut_size);
  std::size_t rows = 0, cols = 0;
  detail::coreml_matrix_shape(shape, rank, rows, cols, who);
  const lut_format f{bits, 0};
  const std::size_t want = lut_index_bytes(f, rows, cols);
  if (index_bytes != want)
    detail::fail("{}: {} index bytes for {} {}-bit indices; expected ceil({}*{}/8) = {}", who, index_bytes,
                 rows * cols, bits, bits, rows * cols, want);
  if (indices == nullptr || lut == nullptr) detail::fail("{}: null indices or LUT pointer", who);
  return lut_matrix<L>{indices, lut, rows, cols, f};
}

/// Writer: the iOS16 operands of a per-tensor, unscaled, single-expert matrix
/// with nbits in {1,2,4,6,8}. `shape` defaults to {rows, cols}.
template <class L>
coreml_ios16_lut<L> to_coreml_ios16(const lut_matrix<L>& w, std::vector<std::uint32_t> shape = {}) {
  constexpr const char* who = "to_coreml_ios16";
  validate(w, who);
  if (!coreml_ios16_bits(w.format.bits))
    detail::fail("{}: iOS16 has no {}-bit LUTs (supported: 1, 2, 4, 6, 8)", who, w.format.bits);
  if (lut_groups(w.format, w.rows, w.experts) != 1)
    detail::fail("{}: iOS16 LUTs are per tensor; this matrix has {} LUTs (group_size {}, {} experts)", who,
                 lut_groups(w.format, w.rows, w.experts), w.format.group_size, w.experts);
  if (w.channel_scale != lut_channel_scale::none)
    detail::fail("{}: iOS16 has no per-channel scale (channel_scale {})", who, to_string(w.channel_scale));
  if (shape.empty()) shape = {static_cast<std::uint32_t>(w.rows), static_cast<std::uint32_t>(w.cols)};
  std::size_t rows = 0, cols = 0;
  detail::coreml_matrix_shape(shape.data(), shape.size(), rows, cols, who);
  if (rows * cols != w.rows * w.cols)
    detail::fail("{}: shape holds {} elements, the matrix {}", who, rows * cols, w.rows * w.cols);
  coreml_ios16_lut<L> out;
  const std::size_t n = lut_index_bytes(w.format, w.rows, w.cols);
  out.indices.assign(w.indices, w.indices + n);
  if (const unsigned tail = static_cast<unsigned>((w.rows * w.cols * w.format.bits) % 8); tail != 0)
    out.indices.back() =
        static_cast<std::uint8_t>(out.indices.back() & ((1u << tail) - 1u));  // CoreML: zero tail
  out.lut.assign(w.lut, w.lut + lut_entries(w.format));
  out.shape = std::move(shape);
  return out;
}

/// The iOS18 LUT tensor shape for a weight of rank `rank` grouped along axis 0:
/// [groups, 1, ..., 1, 2^bits, 1] (rank + 2 dims).
inline std::vector<std::size_t> coreml_ios18_lut_shape(const lut_format& f, std::size_t rows,
                                                       std::size_t rank) {
  validate(f);
  if (rank == 0) detail::fail("coreml_ios18_lut_shape: rank 0");
  std::vector<std::size_t> s(rank + 2, 1);
  s[0] = lut_groups(f, rows);
  s[rank] = lut_entries(f);
  return s;
}

/// Reader for iOS18 operands with groups on axis 0 (the only grouping
/// coremltools' palettizer emits for linear/conv weights) and scalar LUTs.
template <class L>
lut_matrix<L> from_coreml_ios18(const std::uint8_t* indices, std::size_t index_bytes, const L* lut,
                                const std::size_t* lut_shape, const std::uint32_t* shape, std::size_t rank) {
  constexpr const char* who = "from_coreml_ios18";
  std::size_t rows = 0, cols = 0;
  detail::coreml_matrix_shape(shape, rank, rows, cols, who);
  if (rank < 2) detail::fail("{}: iOS18 weights have rank >= 2, got {}", who, rank);
  if (lut_shape[rank + 1] != 1)
    detail::fail("{}: vector LUTs (VECTOR_SIZE {}) are not supported", who, lut_shape[rank + 1]);
  for (std::size_t a = 1; a < rank; ++a)
    if (lut_shape[a] != 1)
      detail::fail("{}: LUT groups along axis {} are not supported (only axis 0)", who, a);
  const std::size_t entries = lut_shape[rank], groups = lut_shape[0];
  int bits = 0;
  while (bits < 9 && (std::size_t{1} << bits) < entries) ++bits;
  if ((std::size_t{1} << bits) != entries || !coreml_ios18_bits(bits))
    detail::fail("{}: LUT has {} entries; iOS18 needs 2^n with n in {{1,2,3,4,6,8}}", who, entries);
  if (groups == 0 || rows % groups != 0)
    detail::fail("{}: {} LUT groups do not divide {} rows", who, groups, rows);
  const lut_format f{bits, groups == 1 ? 0 : rows / groups};
  if (index_bytes != lut_index_bytes(f, rows, cols))
    detail::fail("{}: {} index bytes; expected {}", who, index_bytes, lut_index_bytes(f, rows, cols));
  if (indices == nullptr || lut == nullptr) detail::fail("{}: null indices or LUT pointer", who);
  return lut_matrix<L>{indices, lut, rows, cols, f};
}

}  // namespace lowbit
