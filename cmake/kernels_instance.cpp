// The dispatched CPU kernels of one of lowbit's own programs, compiled once
// (cmake/lowbit_kernels_instance.cmake, include/lowbit/kernels/entry_points.hpp).
#include "lowbit/kernels/instantiate.hpp"
