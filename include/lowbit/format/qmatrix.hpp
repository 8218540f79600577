// qmatrix: a non-owning view of MLX-quantized weights W[experts][rows][cols]
// (rows = output features, cols = input features), plus the validation every
// entry point runs on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "lowbit/core/error.hpp"
#include "lowbit/core/half.hpp"
#include "lowbit/format/quant_format.hpp"

namespace lowbit {

/// S: float, f16 or bf16 for affine (scales and biases share the weight's dtype);
/// std::uint8_t for fp modes (E8M0 for mxfp4/mxfp8, E4M3 for nvfp4).
template <class S>
struct qmatrix {
  const std::uint32_t* packed;  // experts*rows*cols*bits/32 words
  const S* scales;              // experts*rows*cols/group_size
  const S* biases;              // same size; nullptr for fp modes
  std::size_t rows, cols;
  quant_format format;
  std::size_t experts = 1;
  float global_scale = 0.0f;  // nvfp4 only; 0 = none
};

template <class S>
inline constexpr bool is_scale_type_v = is_float_storage_v<S> || std::is_same_v<S, std::uint8_t>;

/// Words of `packed` per expert.
template <class S>
constexpr std::size_t expert_words(const qmatrix<S>& w) noexcept {
  return w.rows * words_per_row(w.format, w.cols);
}
/// Entries of `scales` (and `biases`) per expert.
template <class S>
constexpr std::size_t expert_groups(const qmatrix<S>& w) noexcept {
  return w.rows * groups_per_row(w.format, w.cols);
}

/// The view of expert `e` alone (experts == 1).
template <class S>
constexpr qmatrix<S> expert_view(const qmatrix<S>& w, std::size_t e) noexcept {
  qmatrix<S> v = w;
  v.packed = w.packed + e * expert_words(w);
  v.scales = w.scales + e * expert_groups(w);
  v.biases = w.biases ? w.biases + e * expert_groups(w) : nullptr;
  v.experts = 1;
  return v;
}

/// Throws lowbit::error naming `who` unless `w` is a usable view: supported
/// format, scale type matching the mode, shape fitting the group, no null
/// pointers, biases present exactly for affine, a finite global scale >= 0,
/// and a total size that does not overflow size_t.
template <class S>
void validate(const qmatrix<S>& w, const char* who) {
  static_assert(is_scale_type_v<S>, "qmatrix scale type must be float, f16, bf16 or std::uint8_t");
  validate(w.format);
  constexpr bool byte_scales = std::is_same_v<S, std::uint8_t>;
  if (is_fp_mode(w.format.mode) != byte_scales)
    detail::fail("{}: {} mode needs {} scales, got {}", who, to_string(w.format.mode),
                 is_fp_mode(w.format.mode) ? "std::uint8_t" : "float, f16 or bf16", dtype_name<S>());
  validate_shape(w.format, w.rows, w.cols, who);
  if (w.experts == 0) detail::fail("{}: experts must be >= 1", who);
  const std::size_t elems = detail::checked_mul(detail::checked_mul(w.experts, w.rows, who), w.cols, who);
  (void)detail::checked_mul(elems, static_cast<std::size_t>(w.format.bits), who);
  if (w.packed == nullptr) detail::fail("{}: packed is null", who);
  if (w.scales == nullptr) detail::fail("{}: scales is null", who);
  if (w.format.mode == quant_mode::affine && w.biases == nullptr)
    detail::fail("{}: affine mode needs biases, got null", who);
  if (w.format.mode != quant_mode::affine && w.biases != nullptr)
    detail::fail("{}: {} mode has no biases, pass nullptr", who, to_string(w.format.mode));
  if (w.global_scale != 0.0f && w.format.mode != quant_mode::nvfp4)
    detail::fail("{}: global_scale {} is only meaningful for nvfp4, not {}", who, w.global_scale,
                 to_string(w.format.mode));
  if (!(w.global_scale >= 0.0f) || w.global_scale > 3.4e38f)
    detail::fail("{}: global_scale must be finite and >= 0, got {}", who, w.global_scale);
}

}  // namespace lowbit
