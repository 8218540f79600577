// The emulation must catch what real hardware would hang on or silently
// corrupt: a missing barrier (the shipped qmm with its first barrier removed),
// a barrier or simd op in divergent control flow, a barrier after an early
// return, too much threadgroup memory, an unbound buffer. Also checks the
// emulated simd operations at several simd widths.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "emu_host.hpp"
#include "lowbit/kernels/reference.hpp"
#include "lowbit/lowbit.hpp"

namespace {

namespace gpu = lowbit::gpu;
namespace mtl = lowbit::gpu::metal;
using lowbit_test::metal_emu::launch_options;
using lowbit_test::metal_emu::library;

const library& negative() {
  static const library l(LOWBIT_METAL_EMU_NEGATIVE_LIB);
  return l;
}

std::string dispatch_error(const char* kernel, std::vector<void*> buffers, std::array<std::uint32_t, 3> tg,
                           const launch_options& o = {}) {
  try {
    negative().dispatch(kernel, buffers, {1, 1, 1}, tg, o);
  } catch (const lowbit::error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("a missing threadgroup barrier in qmm is detected") {
  // The shipped qmm program with its first barrier removed, bound like the real variant.
  const int vi = mtl::find_variant("qmm_affine_b4_g64_f32");
  REQUIRE(vi >= 0);
  gpu::kernel_variant v = mtl::variants[static_cast<std::size_t>(vi)];
  const std::string entry = "nobarrier_" + std::string(v.entry);
  v.entry = entry;
  const lowbit::quant_format f{lowbit::quant_mode::affine, 4, 64};
  const std::size_t rows = 40, cols = 128, m = 20;
  std::mt19937 rng(3);
  std::normal_distribution<float> d;
  std::vector<float> w(rows * cols), x(m * cols);
  for (auto& e : w) e = d(rng);
  for (auto& e : x) e = d(rng);
  std::vector<std::uint32_t> packed(rows * cols / 8);
  std::vector<float> scales(rows * cols / 64), biases(scales.size());
  lowbit::quantize<float, float>(f, w.data(), rows, cols, packed.data(), scales.data(), biases.data());
  const lowbit::qmatrix<float> q{packed.data(), scales.data(), biases.data(), rows, cols, f};
  std::vector<float> ref(m * rows);
  lowbit::reference::qmm(q, x.data(), m, ref.data());
  mtl::quant_args args;
  args.rows = rows;
  args.cols = cols;
  args.m = m;

  int caught = 0;
  for (lowbit_emu_order order : {LOWBIT_EMU_FORWARD, LOWBIT_EMU_REVERSE, LOWBIT_EMU_SHUFFLED}) {
    std::vector<float> y(m * rows, 0.0f);
    lowbit_test::metal_emu::run_variant(negative(), v,
                                        {{gpu::buffer_role::packed, packed.data()},
                                         {gpu::buffer_role::scales, scales.data()},
                                         {gpu::buffer_role::biases, biases.data()},
                                         {gpu::buffer_role::x, x.data()},
                                         {gpu::buffer_role::y, y.data()}},
                                        args, launch_options{order, 7, 32, 1});
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < y.size(); ++i)
      wrong += !(std::fabs(y[i] - ref[i]) <= 1e-3f * (1.0f + std::fabs(ref[i])));
    MESSAGE("order " << order << ": " << wrong << " of " << y.size() << " outputs wrong without the barrier");
    caught += wrong > 0;
  }
  CHECK(caught == 3);  // every schedule exposes the race (poisoned threadgroup memory reads as NaN)
}

TEST_CASE("a barrier in divergent control flow is reported, not hung") {
  std::vector<float> out(64);
  const std::string e = dispatch_error("divergent_barrier", {out.data()}, {64, 1, 1});
  CHECK_MESSAGE(e.find("deadlock") != std::string::npos, e);
  CHECK_MESSAGE(e.find("16 threads at threadgroup_barrier") != std::string::npos, e);
}

TEST_CASE("a simd operation in divergent control flow is reported") {
  std::vector<float> out(32);
  const std::string e = dispatch_error("divergent_simd", {out.data()}, {32, 1, 1});
  CHECK_MESSAGE(e.find("simd") != std::string::npos, e);
}

TEST_CASE("a barrier after an early return is reported") {
  std::vector<float> out(32);
  const std::string e = dispatch_error("barrier_after_return", {out.data()}, {32, 1, 1});
  CHECK_MESSAGE(e.find("returned") != std::string::npos, e);
}

TEST_CASE("threadgroup memory over 32 KiB and unbound buffers are reported") {
  std::vector<float> out(64);
  std::string e = dispatch_error("too_much_tg_memory", {out.data()}, {64, 1, 1});
  CHECK_MESSAGE(e.find("32 KiB") != std::string::npos, e);
  e = dispatch_error("neighbour", {nullptr}, {64, 1, 1});
  CHECK_MESSAGE(e.find("buffer(0)") != std::string::npos, e);
}

TEST_CASE("threadgroup memory is shared and ordered by barriers in every schedule") {
  for (lowbit_emu_order order : {LOWBIT_EMU_FORWARD, LOWBIT_EMU_REVERSE, LOWBIT_EMU_SHUFFLED}) {
    std::vector<float> out(100, -1.0f);
    negative().dispatch("neighbour", {out.data()}, {1, 1, 1}, {100, 1, 1}, launch_options{order, 11, 32, 1});
    for (unsigned t = 0; t < 100; ++t) CHECK(out[t] == static_cast<float>((t + 1) % 100));
  }
}

TEST_CASE("simd operations follow Metal's lane semantics at simd widths 8, 16, 32 and 64") {
  for (std::uint32_t width : {8u, 16u, 32u, 64u}) {
    const unsigned n = 128;
    std::vector<float> in(n), out(n * 6, -1.0f);
    for (unsigned t = 0; t < n; ++t) in[t] = static_cast<float>((t * 37) % 101);
    negative().dispatch("simd_ops", {in.data(), out.data()}, {1, 1, 1}, {n, 1, 1},
                        launch_options{LOWBIT_EMU_SHUFFLED, width, width, 1});
    for (unsigned t = 0; t < n; ++t) {
      const unsigned base = t / width * width, lane = t % width;
      float sum = 0.0f, mx = in[base];
      for (unsigned l = 0; l < width; ++l) sum += in[base + l], mx = std::max(mx, in[base + l]);
      INFO("width " << width << " thread " << t);
      CHECK(out[t * 6 + 0] == sum);
      CHECK(out[t * 6 + 1] == mx);
      CHECK(out[t * 6 + 2] == (lane + 1 < width ? in[t + 1] : in[t]));
      CHECK(out[t * 6 + 3] == in[base + (lane ^ (width / 2))]);
      CHECK(out[t * 6 + 4] == in[base + width - 1]);
      CHECK(out[t * 6 + 5] == static_cast<float>(lane));
    }
  }
}
