// Machine baselines (bench/peak.cpp), dispatched to the best SIMD target.
#pragma once

#include <cstddef>

namespace lowbit_bench {
/// Sum of p[0, n): streams the array once (read bandwidth).
float read_sum(const float* p, std::size_t n);
/// The same sum read as 4 interleaved 2 KiB rows with the next 4 rows prefetched.
float read_sum_tiled(const float* p, std::size_t n);
/// Runs `iters` rounds of independent FMAs; returns the flops done.
double fma_flops(std::size_t iters, float* sink);
}  // namespace lowbit_bench
