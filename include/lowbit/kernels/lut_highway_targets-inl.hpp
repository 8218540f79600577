// The LUT kernels compiled once per Highway target: hwy/foreach_target.h
// re-includes this file for every target (Highway's toggle guard below).
// Included only by kernels/lut_cpu.hpp.

#if defined(LOWBIT_KERNELS_LUT_HIGHWAY_TARGETS_INL_) == defined(HWY_TARGET_TOGGLE)
#ifdef LOWBIT_KERNELS_LUT_HIGHWAY_TARGETS_INL_
#undef LOWBIT_KERNELS_LUT_HIGHWAY_TARGETS_INL_
#else
#define LOWBIT_KERNELS_LUT_HIGHWAY_TARGETS_INL_
#endif

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace lowbit::kernels::lut_hwy::HWY_NAMESPACE {

#include "lowbit/simd/highway_ops-inl.hpp"
// clang-format off
#include "lowbit/kernels/unpack-inl.hpp"
#include "lowbit/kernels/lut-inl.hpp"
// clang-format on

inline bool hwy_lut_matmul(const lut_job& j) { return lut_kernels_for<hwy_ops>::matmul(j); }
inline bool hwy_lut_dequantize(const lut_job& j) { return lut_kernels_for<hwy_ops>::dequantize(j); }

}  // namespace lowbit::kernels::lut_hwy::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif
