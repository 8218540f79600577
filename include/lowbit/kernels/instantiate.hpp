// Compiles the dispatched CPU kernels into this translation unit, for programs
// built with LOWBIT_SEPARATE_KERNELS (kernels/entry_points.hpp): include it
// first, in exactly one .cpp of the program; every other TU then only declares
// the kernels. Header-only programs (the default) never include it.
#pragma once

#if !defined(LOWBIT_SEPARATE_KERNELS)
#error "lowbit/kernels/instantiate.hpp: define LOWBIT_SEPARATE_KERNELS in every TU, this one too"
#endif
#if defined(LOWBIT_REFERENCE_KERNELS)
#error "lowbit/kernels/instantiate.hpp: the kernels cannot be compiled under LOWBIT_REFERENCE_KERNELS"
#endif
#if defined(LOWBIT_DETAIL_ENTRY_POINTS_SEEN)
#error "lowbit/kernels/instantiate.hpp must be included before any other lowbit header"
#endif

#define LOWBIT_INSTANTIATE_KERNELS
#include "lowbit/kernels/cpu.hpp"      // IWYU pragma: export
#include "lowbit/kernels/lut_cpu.hpp"  // IWYU pragma: export
