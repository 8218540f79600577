// The kernels compiled once per Highway target: hwy/foreach_target.h
// re-includes this file for every target it enumerates (Highway's toggle
// guard below), each time inside that target's namespace and pragma region.
// Included only by kernels/highway.hpp.

#if defined(LOWBIT_KERNELS_HIGHWAY_TARGETS_INL_) == defined(HWY_TARGET_TOGGLE)
#ifdef LOWBIT_KERNELS_HIGHWAY_TARGETS_INL_
#undef LOWBIT_KERNELS_HIGHWAY_TARGETS_INL_
#else
#define LOWBIT_KERNELS_HIGHWAY_TARGETS_INL_
#endif

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace lowbit::kernels::HWY_NAMESPACE {

#include "lowbit/simd/highway_ops-inl.hpp"
// clang-format off
#include "lowbit/kernels/unpack-inl.hpp"
#include "lowbit/kernels/qmv-inl.hpp"
#include "lowbit/kernels/qmm-inl.hpp"
#include "lowbit/kernels/int8-inl.hpp"
#include "lowbit/kernels/int8_qmm-inl.hpp"
#include "lowbit/kernels/dequant_table-inl.hpp"
#include "lowbit/kernels/dequantize-inl.hpp"
#include "lowbit/kernels/entry-inl.hpp"
#include "lowbit/kernels/lut_int8-inl.hpp"
#include "lowbit/kernels/lut-inl.hpp"
// clang-format on

inline const char* hwy_target_name() { return hwy::TargetName(HWY_TARGET); }
inline void hwy_matmul(const matmul_job& j) { kernels_for<hwy_ops>::matmul(j); }
inline void hwy_dequantize(const dequant_job& j) { kernels_for<hwy_ops>::dequantize(j); }
// The LUT (palettization) kernels share this per-target pass (one per TU).
inline bool hwy_lut_matmul(const lut_job& j) { return lut_kernels_for<hwy_ops>::matmul(j); }
inline bool hwy_lut_dequantize(const lut_job& j) { return lut_kernels_for<hwy_ops>::dequantize(j); }

}  // namespace lowbit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif
