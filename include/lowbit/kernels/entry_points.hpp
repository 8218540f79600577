// The dispatched CPU kernels' entry points, and where they are compiled.
// Header-only (the default): every translation unit that includes the kernels
// compiles them, inline: every Highway target plus the xsimd and scalar
// backends, about a minute per TU at -O2. A program with many such TUs can
// compile them once instead: define LOWBIT_SEPARATE_KERNELS in every TU (e.g. a
// CMake compile definition) and include lowbit/kernels/instantiate.hpp in
// exactly one .cpp, first; the other TUs then see only these declarations.
#pragma once

#include <cstdint>
#include <vector>

#include "lowbit/kernels/job.hpp"
#include "lowbit/kernels/lut_job.hpp"
#include "lowbit/simd/backend.hpp"

#define LOWBIT_DETAIL_ENTRY_POINTS_SEEN
#if !defined(LOWBIT_SEPARATE_KERNELS)
#define LOWBIT_KERNEL_ENTRY inline
#define LOWBIT_DETAIL_DEFINE_KERNELS 1
#elif defined(LOWBIT_INSTANTIATE_KERNELS)
#define LOWBIT_KERNEL_ENTRY
#define LOWBIT_DETAIL_DEFINE_KERNELS 1
#else
#define LOWBIT_KERNEL_ENTRY
#define LOWBIT_DETAIL_DEFINE_KERNELS 0
#endif

namespace lowbit::kernels {

/// The kernel tables of the three backends (kernels/portable.hpp, kernels/highway.hpp).
LOWBIT_KERNEL_ENTRY kernel_table scalar_table() noexcept;
LOWBIT_KERNEL_ENTRY kernel_table xsimd_table() noexcept;
LOWBIT_KERNEL_ENTRY kernel_table highway_table() noexcept;

/// The Highway targets compiled in and supported by this CPU (best first is
/// not guaranteed), as Highway target bits; for tests and benchmarks.
LOWBIT_KERNEL_ENTRY std::vector<std::int64_t> highway_targets();
/// Restricts dispatch to `targets` (a mask of Highway target bits; 0 = all).
LOWBIT_KERNEL_ENTRY void pin_highway_targets(std::int64_t targets);

/// The LUT kernels on backend `b` (kernels/lut_cpu.hpp); false: the caller must
/// run the reference.
LOWBIT_KERNEL_ENTRY bool run_lut_matmul(const lut_job& j, backend b);
LOWBIT_KERNEL_ENTRY bool run_lut_dequantize(const lut_job& j, backend b);

}  // namespace lowbit::kernels
