// Google Benchmark micro-benchmarks of the dispatched kernels on one
// cache-resident-or-not matrix (lowbit-bench does the >= 1 GiB rotation and
// the ratios). Arguments: rows, cols; the backend is the benchmark's name.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "lowbit/core/thread_pool.hpp"
#include "lowbit/kernels/cpu.hpp"

using namespace lowbit;

namespace {

struct fixture {
  std::size_t rows, cols;
  std::vector<std::uint32_t> packed;
  std::vector<f16> scales, biases;
  std::vector<float> x, y;
  fixture(std::size_t r, std::size_t c, std::size_t m = 1)
      : rows(r),
        cols(c),
        packed(r * c / 8),
        scales(r * c / 64),
        biases(r * c / 64),
        x(m * c, 0.25f),
        y(m * r) {
    std::uint32_t s = 1;
    for (auto& w : packed) w = (s = s * 1664525u + 1013904223u);
    for (std::size_t i = 0; i < scales.size(); ++i) scales[i] = f16(0.01f), biases[i] = f16(-0.08f);
  }
  [[nodiscard]] qmatrix<f16> w() const {
    return {packed.data(), scales.data(), biases.data(), rows, cols, {quant_mode::affine, 4, 64}};
  }
  [[nodiscard]] double bytes() const { return static_cast<double>(rows * cols) * (0.5 + 4.0 / 64); }
};

void BM_qmv(benchmark::State& st, backend b) {
  fixture f(static_cast<std::size_t>(st.range(0)), static_cast<std::size_t>(st.range(1)));
  for (auto _ : st) {
    kernels::qmv(f.w(), f.x.data(), f.y.data(), {}, b);
    benchmark::DoNotOptimize(f.y.data());
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(f.bytes() * static_cast<double>(st.iterations())));
}

void BM_dequantize_f16(benchmark::State& st, backend b) {
  fixture f(static_cast<std::size_t>(st.range(0)), static_cast<std::size_t>(st.range(1)));
  std::vector<f16> out(f.rows * f.cols);
  for (auto _ : st) {
    kernels::dequantize(f.w(), out.data(), {}, b);
    benchmark::DoNotOptimize(out.data());
  }
  st.SetBytesProcessed(static_cast<std::int64_t>((f.bytes() + 2.0 * static_cast<double>(out.size())) *
                                                 static_cast<double>(st.iterations())));
}

void BM_qmm(benchmark::State& st, backend b) {
  const auto m = static_cast<std::size_t>(st.range(2));
  fixture f(static_cast<std::size_t>(st.range(0)), static_cast<std::size_t>(st.range(1)), m);
  for (auto _ : st) {
    kernels::qmm(f.w(), f.x.data(), m, f.y.data(), {}, b);
    benchmark::DoNotOptimize(f.y.data());
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(m * f.rows * f.cols),
                         benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::OneK::kIs1000);
}

}  // namespace

BENCHMARK_CAPTURE(BM_qmv, highway, backend::highway)->Args({4096, 4096})->Args({14336, 4096});
BENCHMARK_CAPTURE(BM_qmv, xsimd, backend::xsimd)->Args({4096, 4096});
BENCHMARK_CAPTURE(BM_dequantize_f16, highway, backend::highway)->Args({4096, 4096});
BENCHMARK_CAPTURE(BM_qmm, highway, backend::highway)->Args({4096, 4096, 64})->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
