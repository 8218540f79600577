// The LUT kernels' backends: lut-inl.hpp instantiated over the scalar and
// xsimd ops (namespace lut_portable) and, per Highway target, over the
// Highway ops with dynamic dispatch. Each entry returns false when the shape
// is one the vector kernels do not take (bits > 4, or cols not a whole number
// of decoder chunks); the caller then runs the reference.
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
#include "lowbit/kernels/job.hpp"
#include "lowbit/simd/backend.hpp"
#include "lowbit/simd/scalar_ops.hpp"
#include "lowbit/simd/xsimd_ops.hpp"

namespace lowbit::kernels {

/// A type-erased LUT job: `rows` stacked rows, indices byte-aligned per row,
/// each group's table as 16 floats (entries past 2^bits unused).
struct lut_job {
  const std::uint8_t* indices = nullptr;
  std::size_t rows = 0, cols = 0, group_rows = 1, expert_rows = 1;
  int bits = 4;
  const float* tables = nullptr;
  const float* row_scale = nullptr;  // per stacked row, or nullptr
  const float* col_scale = nullptr;  // dequantize: per expert and column, or nullptr
  // matmul: x already multiplied by the column scales
  const float* x = nullptr;
  std::size_t m = 1, x_stride = 0;
  float* y = nullptr;
  std::size_t y_stride = 0;
  // dequantize
  void* out = nullptr;
  elem_kind out_kind = elem_kind::f32;
  executor ex{};
};

namespace lut_portable {
// clang-format off
#include "lowbit/kernels/unpack-inl.hpp"
#include "lowbit/kernels/lut-inl.hpp"
// clang-format on
}  // namespace lut_portable

}  // namespace lowbit::kernels

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "lowbit/kernels/lut_highway_targets-inl.hpp"
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128 | HWY_RVV)
#endif
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "lowbit/kernels/lut_highway_targets-inl.hpp"

#if HWY_ONCE
namespace lowbit::kernels {
namespace lut_hwy {
HWY_EXPORT(hwy_lut_matmul);
HWY_EXPORT(hwy_lut_dequantize);
}  // namespace lut_hwy

/// Runs the job on backend `b`; false: the caller must use the reference.
inline bool run_lut_matmul(const lut_job& j, backend b) {
  switch (resolve(b)) {
    case backend::scalar:
      return lut_portable::lut_kernels_for<simd::scalar_ops>::matmul(j);
    case backend::xsimd:
      return lut_portable::lut_kernels_for<simd::xsimd_ops<xsimd::default_arch>>::matmul(j);
    default:
      return HWY_DYNAMIC_DISPATCH(lut_hwy::hwy_lut_matmul)(j);
  }
}
inline bool run_lut_dequantize(const lut_job& j, backend b) {
  switch (resolve(b)) {
    case backend::scalar:
      return lut_portable::lut_kernels_for<simd::scalar_ops>::dequantize(j);
    case backend::xsimd:
      return lut_portable::lut_kernels_for<simd::xsimd_ops<xsimd::default_arch>>::dequantize(j);
    default:
      return HWY_DYNAMIC_DISPATCH(lut_hwy::hwy_lut_dequantize)(j);
  }
}

}  // namespace lowbit::kernels
#endif
