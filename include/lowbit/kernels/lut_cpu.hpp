// The LUT kernels' backends: lut-inl.hpp instantiated over the scalar and
// xsimd ops (namespace lut_portable). Each entry returns false when the shape
// is one the vector kernels do not take (bits > 6, or cols not a whole number
// of decoder chunks); the caller then runs the reference. Compiled where
// kernels/entry_points.hpp says the kernels are defined.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <vector>

#include "lowbit/core/executor.hpp"
#include "lowbit/core/rounding.hpp"
#include "lowbit/kernels/entry_points.hpp"
#include "lowbit/kernels/job.hpp"
#include "lowbit/kernels/lut_job.hpp"
#include "lowbit/simd/backend.hpp"

#if LOWBIT_DETAIL_DEFINE_KERNELS
#include "lowbit/simd/scalar_ops.hpp"
#include "lowbit/simd/xsimd_ops.hpp"
#ifndef LOWBIT_REFERENCE_KERNELS
#include "lowbit/kernels/highway.hpp"
#endif

namespace lowbit::kernels {

namespace lut_portable {
// clang-format off
#include "lowbit/kernels/unpack-inl.hpp"
#include "lowbit/kernels/int8-inl.hpp"
#include "lowbit/kernels/lut_int8-inl.hpp"
#include "lowbit/kernels/lut-inl.hpp"
// clang-format on
}  // namespace lut_portable

// The highway backend runs the LUT kernels from kernels/highway.hpp's per-target
// pass (Highway 1.0.3's foreach_target.h allows one pass per translation unit),
// with the target chosen at run time. Under LOWBIT_REFERENCE_KERNELS that pass
// is not compiled and the highway backend falls back to xsimd at the
// translation unit's architecture, like the xsimd backend.
using lut_xsimd_ops = simd::xsimd_ops<xsimd::default_arch>;

LOWBIT_KERNEL_ENTRY bool run_lut_matmul(const lut_job& j, backend b) {
  const backend r = resolve(b);
  if (r == backend::scalar) return lut_portable::lut_kernels_for<simd::scalar_ops>::matmul(j);
#ifndef LOWBIT_REFERENCE_KERNELS
  if (r == backend::highway) return highway_lut_matmul(j);
#endif
  return lut_portable::lut_kernels_for<lut_xsimd_ops>::matmul(j);
}
LOWBIT_KERNEL_ENTRY bool run_lut_dequantize(const lut_job& j, backend b) {
  const backend r = resolve(b);
  if (r == backend::scalar) return lut_portable::lut_kernels_for<simd::scalar_ops>::dequantize(j);
#ifndef LOWBIT_REFERENCE_KERNELS
  if (r == backend::highway) return highway_lut_dequantize(j);
#endif
  return lut_portable::lut_kernels_for<lut_xsimd_ops>::dequantize(j);
}

}  // namespace lowbit::kernels
#endif
