// The scalar and xsimd backends' kernel tables. Both instantiate the same
// kernel sources (the *-inl.hpp files) as Highway does, over their ops.
// xsimd is compile-time: header-only consumers get xsimd::default_arch (their
// -m flags). Binaries built with LOWBIT_XSIMD_MULTIARCH link per-architecture
// objects (bench/xsimd_arch.cpp compiled with -mavx2 / -mavx512*) that each
// define lowbit::kernels::xsimd_table_<arch>(), and xsimd_table() picks the best
// the CPU supports. (Link the baseline object first, so shared inline helpers
// come from the baseline build.)
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <vector>

#include "lowbit/core/rounding.hpp"
#include "lowbit/kernels/entry_points.hpp"
#include "lowbit/kernels/job.hpp"
#include "lowbit/simd/scalar_ops.hpp"
#include "lowbit/simd/xsimd_ops.hpp"

namespace lowbit::kernels::portable {
// clang-format off
#include "lowbit/kernels/unpack-inl.hpp"
#include "lowbit/kernels/qmv-inl.hpp"
#include "lowbit/kernels/qmm-inl.hpp"
#include "lowbit/kernels/int8-inl.hpp"
#include "lowbit/kernels/int8_qmm-inl.hpp"
#include "lowbit/kernels/dequant_table-inl.hpp"
#include "lowbit/kernels/dequantize-inl.hpp"
#include "lowbit/kernels/entry-inl.hpp"
// clang-format on
}  // namespace lowbit::kernels::portable

namespace lowbit::kernels {

/// xsimd at architecture Arch (the TU must be compiled with Arch's flags). A
/// template, so per-architecture objects never define the same symbol.
template <class Arch>
kernel_table xsimd_table_for() noexcept {
  using ops = simd::xsimd_ops<Arch>;
  return {[]() -> const char* { return Arch::name(); }, &portable::kernels_for<ops>::matmul,
          &portable::kernels_for<ops>::dequantize};
}

/// xsimd at this translation unit's architecture.
inline kernel_table xsimd_native_table() noexcept { return xsimd_table_for<xsimd::default_arch>(); }

#ifdef LOWBIT_XSIMD_MULTIARCH
kernel_table xsimd_table_avx2();  // compiled with -mavx2 -mfma -mf16c
kernel_table
xsimd_table_avx512bw();  // compiled with -mavx512f -mavx512bw -mavx512dq -mavx512cd -mavx512vl -mfma -mf16c
#endif

// The entry points, where this TU defines them (kernels/entry_points.hpp); the
// per-architecture xsimd objects include this file for the templates only.
#if LOWBIT_DETAIL_DEFINE_KERNELS
LOWBIT_KERNEL_ENTRY kernel_table scalar_table() noexcept {
  return {[]() -> const char* { return "scalar"; }, &portable::kernels_for<simd::scalar_ops>::matmul,
          &portable::kernels_for<simd::scalar_ops>::dequantize};
}

#ifdef LOWBIT_XSIMD_MULTIARCH
LOWBIT_KERNEL_ENTRY kernel_table xsimd_table() noexcept {
  static const kernel_table t = [] {
    const auto a = xsimd::available_architectures();
    if (a.avx512bw) return xsimd_table_avx512bw();
    if (a.avx2 && a.fma3_avx2) return xsimd_table_avx2();
    return xsimd_native_table();
  }();
  return t;
}
#else
LOWBIT_KERNEL_ENTRY kernel_table xsimd_table() noexcept { return xsimd_native_table(); }
#endif
#endif

}  // namespace lowbit::kernels
