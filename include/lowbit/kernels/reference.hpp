// The scalar reference implementation of every kernel: lowbit::reference::*.
// Plain loops, float64 accumulation; the SIMD kernels are tested against it.
#pragma once

#include "lowbit/kernels/reference/dequantize.hpp"
#include "lowbit/kernels/reference/element.hpp"
#include "lowbit/kernels/reference/matmul.hpp"
