// The Highway backend's kernel table: every kernel compiled for each x86/ARM
// target Highway knows (SSE4, AVX2, AVX-512, NEON, plus the portable EMU128
// fallback) in this one translation unit, and HWY_DYNAMIC_DISPATCH picks the
// best the running CPU supports. Nothing needs -m flags. Included where the
// kernels are defined (kernels/entry_points.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <vector>

#include "lowbit/core/rounding.hpp"
#include "lowbit/kernels/entry_points.hpp"
#include "lowbit/kernels/job.hpp"
#include "lowbit/kernels/lut_job.hpp"
#include "lowbit/simd/scalar_ops.hpp"

#if !LOWBIT_DETAIL_DEFINE_KERNELS
#error "lowbit/kernels/highway.hpp: under LOWBIT_SEPARATE_KERNELS only instantiate.hpp compiles it"
#endif

// SSSE3 adds little over the EMU128 fallback for these kernels and every
// target costs compile time; scalable vectors would break the fixed lane
// counts the kernels use for their tiles.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128 | HWY_RVV)
#endif

// Highway 1.0.3 only compiles AVX3_DL (AVX-512 with VNNI: Ice Lake, Zen 4/5)
// when asked. We ask: the int8 matmul's vpdpbusd lives there (one instruction
// where AVX3 needs pmaddubsw + pmaddwd + add), and -march=native on those CPUs
// makes AVX3_DL the static target, which without the request is a hard #error.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "lowbit/kernels/highway_targets-inl.hpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/targets.h>

#include "lowbit/kernels/highway_targets-inl.hpp"

#if HWY_ONCE
namespace lowbit::kernels {

HWY_EXPORT(hwy_target_name);
HWY_EXPORT(hwy_matmul);
HWY_EXPORT(hwy_dequantize);
HWY_EXPORT(hwy_lut_matmul);
HWY_EXPORT(hwy_lut_dequantize);

inline const char* highway_target() { return HWY_DYNAMIC_DISPATCH(hwy_target_name)(); }
inline void highway_matmul(const matmul_job& j) { HWY_DYNAMIC_DISPATCH(hwy_matmul)(j); }
inline void highway_dequantize(const dequant_job& j) { HWY_DYNAMIC_DISPATCH(hwy_dequantize)(j); }

/// The LUT kernels on the best Highway target; false: the caller runs the reference.
inline bool highway_lut_matmul(const lut_job& j) { return HWY_DYNAMIC_DISPATCH(hwy_lut_matmul)(j); }
inline bool highway_lut_dequantize(const lut_job& j) { return HWY_DYNAMIC_DISPATCH(hwy_lut_dequantize)(j); }

LOWBIT_KERNEL_ENTRY kernel_table highway_table() noexcept {
  return {&highway_target, &highway_matmul, &highway_dequantize};
}

LOWBIT_KERNEL_ENTRY std::vector<std::int64_t> highway_targets() {
  return hwy::SupportedAndGeneratedTargets();
}
LOWBIT_KERNEL_ENTRY void pin_highway_targets(std::int64_t targets) {
  hwy::SetSupportedTargetsForTest(targets);
}

}  // namespace lowbit::kernels
#endif
