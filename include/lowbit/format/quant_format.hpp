// What an MLX quantization format IS: the mode, bits and group size, which
// combinations exist, and the sizes they imply. No compute here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lowbit/core/error.hpp"

namespace lowbit {

enum class quant_mode { affine, mxfp4, mxfp8, nvfp4 };

struct quant_format {
  quant_mode mode = quant_mode::affine;
  int bits = 4;
  int group_size = 64;
};

constexpr std::string_view to_string(quant_mode m) noexcept {
  switch (m) {
    case quant_mode::affine:
      return "affine";
    case quant_mode::mxfp4:
      return "mxfp4";
    case quant_mode::mxfp8:
      return "mxfp8";
    case quant_mode::nvfp4:
      return "nvfp4";
  }
  return "unknown";
}

/// Parses "affine", "mxfp4", "mxfp8", "nvfp4" (mlx-lm config spelling).
inline quant_mode parse_quant_mode(std::string_view s) {
  for (auto m : {quant_mode::affine, quant_mode::mxfp4, quant_mode::mxfp8, quant_mode::nvfp4})
    if (to_string(m) == s) return m;
  detail::fail("unknown quantization mode '{}' (expected affine, mxfp4, mxfp8 or nvfp4)", s);
}

/// MLX's defaults for a mode: affine g64 b4, mxfp4 g32 b4, mxfp8 g32 b8, nvfp4 g16 b4.
constexpr quant_format default_format(quant_mode m) noexcept {
  switch (m) {
    case quant_mode::affine:
      return {m, 4, 64};
    case quant_mode::mxfp4:
      return {m, 4, 32};
    case quant_mode::mxfp8:
      return {m, 8, 32};
    case quant_mode::nvfp4:
      return {m, 4, 16};
  }
  return {};
}

constexpr bool is_fp_mode(quant_mode m) noexcept { return m != quant_mode::affine; }

/// Throws lowbit::error unless `f` is a combination MLX supports:
/// affine bits {2,3,4,5,6,8} x group {32,64,128}; mxfp4 = (4, 32), mxfp8 = (8, 32), nvfp4 = (4, 16).
inline void validate(const quant_format& f) {
  switch (f.mode) {
    case quant_mode::affine: {
      const bool bits_ok =
          f.bits == 2 || f.bits == 3 || f.bits == 4 || f.bits == 5 || f.bits == 6 || f.bits == 8;
      if (!bits_ok)
        detail::fail("affine quantization: unsupported bits {} (supported: 2, 3, 4, 5, 6, 8)", f.bits);
      if (f.group_size != 32 && f.group_size != 64 && f.group_size != 128)
        detail::fail("affine quantization: unsupported group_size {} (supported: 32, 64, 128)", f.group_size);
      return;
    }
    case quant_mode::mxfp4:
    case quant_mode::mxfp8:
    case quant_mode::nvfp4: {
      const quant_format d = default_format(f.mode);
      if (f.bits != d.bits || f.group_size != d.group_size)
        detail::fail("{} quantization requires bits {} and group_size {}, got bits {} and group_size {}",
                     to_string(f.mode), d.bits, d.group_size, f.bits, f.group_size);
      return;
    }
  }
  detail::fail("invalid quant_mode value {}", static_cast<int>(f.mode));
}

/// Sizes of one [rows, cols] matrix in a format. All counts are elements.
/// Every row is an independent bit stream of cols*bits bits, a whole number of
/// uint32 words because cols is a multiple of the group size (>= 16 elements
/// of >= 2 bits... and 32 | cols*bits for every supported combination).
constexpr std::size_t words_per_row(const quant_format& f, std::size_t cols) noexcept {
  return cols * static_cast<std::size_t>(f.bits) / 32;
}
constexpr std::size_t groups_per_row(const quant_format& f, std::size_t cols) noexcept {
  return cols / static_cast<std::size_t>(f.group_size);
}
/// Values per uint32 word for the power-of-two widths (2, 4, 8); 3/5/6-bit
/// values straddle words (MLX packs them 8 per 3 or 5 bytes, 4 per 3 bytes).
constexpr int pack_factor(int bits) noexcept { return 32 / bits; }

/// Throws unless a [rows, cols] matrix fits format `f` (validated separately):
/// cols a multiple of the group size and the row a whole number of words.
inline void validate_shape(const quant_format& f, std::size_t rows, std::size_t cols, const char* who) {
  const auto g = static_cast<std::size_t>(f.group_size);
  if (cols == 0 || rows == 0) detail::fail("{}: empty matrix [{}, {}]", who, rows, cols);
  if (cols % g != 0)
    detail::fail("{}: cols {} is not a multiple of group_size {} ({} mode, {} bits)", who, cols, g,
                 to_string(f.mode), f.bits);
  if ((cols * static_cast<std::size_t>(f.bits)) % 32 != 0)
    detail::fail("{}: a row of {} {}-bit values is not a whole number of uint32 words", who, cols, f.bits);
}

}  // namespace lowbit
