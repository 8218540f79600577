// Machine baselines for lowbit-bench, compiled for every Highway target and
// dispatched at run time like the kernels: a streaming read-sum (the read
// bandwidth every memory-bound kernel is compared with) and an FMA loop with
// enough independent accumulators to reach the core's fp32 FMA peak.
#include <cstddef>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/peak.cpp"
#include <hwy/cache_control.h>
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "bench/peak.hpp"

HWY_BEFORE_NAMESPACE();
namespace lowbit_bench::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

float read_sum(const float* p, std::size_t n) {
  const hn::ScalableTag<float> d;
  const std::size_t N = hn::Lanes(d);
  auto a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  std::size_t i = 0;
  for (; i + 8 * N <= n; i += 8 * N) {
    a0 = hn::Add(a0, hn::LoadU(d, p + i));
    a1 = hn::Add(a1, hn::LoadU(d, p + i + N));
    a2 = hn::Add(a2, hn::LoadU(d, p + i + 2 * N));
    a3 = hn::Add(a3, hn::LoadU(d, p + i + 3 * N));
    a4 = hn::Add(a4, hn::LoadU(d, p + i + 4 * N));
    a5 = hn::Add(a5, hn::LoadU(d, p + i + 5 * N));
    a6 = hn::Add(a6, hn::LoadU(d, p + i + 6 * N));
    a7 = hn::Add(a7, hn::LoadU(d, p + i + 7 * N));
  }
  float s = hn::GetLane(hn::SumOfLanes(
      d, hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)), hn::Add(hn::Add(a4, a5), hn::Add(a6, a7)))));
  for (; i < n; ++i) s += p[i];
  return s;
}

// The access pattern of lowbit's mat-vec tiles: 4 interleaved rows of 2 KiB,
// each load prefetching the same offset in the next tile. Some machines read
// faster this way than in one sequential stream (this VM: up to ~20 %), so the
// read baseline is the faster of the two and kernel ratios cannot exceed 1 by
// using memory-level parallelism the plain sum leaves unused.
float read_sum_tiled(const float* p, std::size_t n) {
  const hn::ScalableTag<float> d;
  const std::size_t N = hn::Lanes(d), row = 512, tile = 4 * row;
  auto a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0;
  std::size_t t = 0;
  for (; t + tile <= n; t += tile)
    for (std::size_t k = 0; k < row; k += N) {
      const float* q = p + t + k;
      for (std::size_t r = 0; r < 4; ++r) hwy::Prefetch(q + r * row + tile);
      a0 = hn::Add(a0, hn::LoadU(d, q));
      a1 = hn::Add(a1, hn::LoadU(d, q + row));
      a2 = hn::Add(a2, hn::LoadU(d, q + 2 * row));
      a3 = hn::Add(a3, hn::LoadU(d, q + 3 * row));
    }
  float s = hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; t < n; ++t) s += p[t];
  return s;
}

// 12 independent chains: FMA latency 4 x 2 pipes (Zen 4/5, Intel) needs >= 8.
// Each chain starts from its own value: started equal (sessions 1-3), the 12
// chains computed the same thing and g++ merged them into one, so the loop was
// one FMA per iteration counted as 12, a latency-bound figure ~1.5x the real
// peak on this VM (334 vs 225 GFLOP/s measured by a hand-written 12-chain loop).
double fma_flops(std::size_t iters, float* sink) {
  const hn::ScalableTag<float> d;
  const auto m = hn::Set(d, 0.999999f), c = hn::Set(d, 1e-7f);
  auto a0 = hn::Set(d, 1.0f), a1 = hn::Set(d, 1.1f), a2 = hn::Set(d, 1.2f), a3 = hn::Set(d, 1.3f),
       a4 = hn::Set(d, 1.4f), a5 = hn::Set(d, 1.5f), a6 = hn::Set(d, 1.6f), a7 = hn::Set(d, 1.7f),
       a8 = hn::Set(d, 1.8f), a9 = hn::Set(d, 1.9f), a10 = hn::Set(d, 2.0f), a11 = hn::Set(d, 2.1f);
  for (std::size_t i = 0; i < iters; ++i) {
    a0 = hn::MulAdd(a0, m, c);
    a1 = hn::MulAdd(a1, m, c);
    a2 = hn::MulAdd(a2, m, c);
    a3 = hn::MulAdd(a3, m, c);
    a4 = hn::MulAdd(a4, m, c);
    a5 = hn::MulAdd(a5, m, c);
    a6 = hn::MulAdd(a6, m, c);
    a7 = hn::MulAdd(a7, m, c);
    a8 = hn::MulAdd(a8, m, c);
    a9 = hn::MulAdd(a9, m, c);
    a10 = hn::MulAdd(a10, m, c);
    a11 = hn::MulAdd(a11, m, c);
  }
  const auto s =
      hn::Add(hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)), hn::Add(hn::Add(a4, a5), hn::Add(a6, a7))),
              hn::Add(hn::Add(a8, a9), hn::Add(a10, a11)));
  *sink = hn::GetLane(hn::SumOfLanes(d, s));
  return 2.0 * 12.0 * static_cast<double>(hn::Lanes(d)) * static_cast<double>(iters);
}

}  // namespace lowbit_bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lowbit_bench {
HWY_EXPORT(read_sum);
HWY_EXPORT(read_sum_tiled);
HWY_EXPORT(fma_flops);
float read_sum(const float* p, std::size_t n) { return HWY_DYNAMIC_DISPATCH(read_sum)(p, n); }
float read_sum_tiled(const float* p, std::size_t n) { return HWY_DYNAMIC_DISPATCH(read_sum_tiled)(p, n); }
double fma_flops(std::size_t iters, float* sink) { return HWY_DYNAMIC_DISPATCH(fma_flops)(iters, sink); }
}  // namespace lowbit_bench
#endif
