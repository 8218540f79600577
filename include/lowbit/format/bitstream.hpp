// The one packing rule every MLX format shares: a row of b-bit codes is an
// LSB-first little-endian bit stream. Code j occupies stream bits
// [j*b, j*b + b), stream bit t is bit t%32 of uint32 word t/32. For b = 2/4/8
// this is "element k of a word at bits [k*b, k*b+b)"; 3/5/6-bit codes straddle
// words (MLX's 8-per-3-bytes / 8-per-5-bytes / 4-per-3-bytes packs are the
// same stream). fp4 and fp8 codes use it too (research/mlx.md §1.1, §2).
#pragma once

#include <cstddef>
#include <cstdint>

namespace lowbit {

/// Code `j` (width `bits` in 1..8) of the bit stream starting at `row`.
/// Reads word t/32 and, only when the code straddles, word t/32 + 1.
inline std::uint32_t extract_code(const std::uint32_t* row, std::size_t j, int bits) noexcept {
  const std::size_t t = j * static_cast<std::size_t>(bits);
  const std::size_t w = t / 32;
  const unsigned off = static_cast<unsigned>(t % 32);
  std::uint32_t v = row[w] >> off;
  if (off + static_cast<unsigned>(bits) > 32) v |= row[w + 1] << (32 - off);
  return v & ((1u << bits) - 1u);
}

/// Unpacks codes [0, n) of a row into bytes.
inline void unpack_codes(const std::uint32_t* row, std::size_t n, int bits, std::uint8_t* out) noexcept {
  for (std::size_t j = 0; j < n; ++j) out[j] = static_cast<std::uint8_t>(extract_code(row, j, bits));
}

/// Packs n codes (each < 2^bits) into the stream at `row`, which must hold
/// ceil(n*bits/32) words; bits past the last code are zero.
inline void pack_codes(const std::uint8_t* codes, std::size_t n, int bits, std::uint32_t* row) noexcept {
  const std::size_t words = (n * static_cast<std::size_t>(bits) + 31) / 32;
  for (std::size_t w = 0; w < words; ++w) row[w] = 0;
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t t = j * static_cast<std::size_t>(bits);
    const unsigned off = static_cast<unsigned>(t % 32);
    const std::uint32_t c = codes[j] & ((1u << bits) - 1u);
    row[t / 32] |= c << off;
    if (off + static_cast<unsigned>(bits) > 32) row[t / 32 + 1] |= c >> (32 - off);
  }
}

}  // namespace lowbit
