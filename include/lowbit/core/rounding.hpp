// Arithmetic that must round exactly as MLX's reference does: in a given
// storage type, one operation at a time, never fused into an FMA.
#pragma once

#include <type_traits>

#include "lowbit/core/half.hpp"

namespace lowbit::detail {

/// Rounds a float to T's precision (identity for float).
template <class T>
inline float round_to(float v) noexcept {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else {
    return to_float(T(v));
  }
}

/// Keeps the compiler from contracting `a*b + c` into an FMA (GCC contracts
/// across statements with -ffp-contract=fast, its default in GNU mode, when the
/// target has FMA). MLX's golden vectors and numpy's results are unfused.
template <class F>
inline F no_contract(F v) noexcept {
  static_assert(std::is_floating_point_v<F>);
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __asm__("" : "+x"(v));
#elif defined(__GNUC__) && defined(__aarch64__)
  __asm__("" : "+w"(v));
#else
  volatile F t = v;
  v = t;
#endif
  return v;
}

/// a*b rounded, then + c rounded: two separately rounded float ops.
inline float mul_add_rounded(float a, float b, float c) noexcept { return no_contract(a * b) + c; }

}  // namespace lowbit::detail
