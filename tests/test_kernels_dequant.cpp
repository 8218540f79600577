// The table dequantize (affine <= 4 bits: per-group 16-entry output tables,
// kernels/dequant_table-inl.hpp) against the scalar reference, bit for bit, on
// every backend and Highway target: all codes 0..15 (random packed words, not
// quantize's output), scales and biases that make q*s or (q*s)+b overflow f16
// or land in its subnormals, bf16 subnormals, one-group rows (shorter than the
// decoder's 16-byte window), rows not a multiple of the task split, 1-3 threads.
#include <doctest/doctest.h>
#include <hwy/targets.h>  // hwy::TargetName

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lowbit/core/thread_pool.hpp"
#include "lowbit/kernels/cpu.hpp"
#include "lowbit/lowbit.hpp"

using namespace lowbit;

namespace {

/// Random codes; scales/biases cycle through `params` (pairs s, b), so every
/// group meets the special values with every code.
template <class S>
struct raw_matrix {
  std::vector<std::uint32_t> packed;
  std::vector<S> scales, biases;
  qmatrix<S> w{};
  raw_matrix(int bits, int gs, std::size_t rows, std::size_t cols,
             const std::vector<std::pair<float, float>>& params, unsigned seed) {
    std::mt19937 g(seed);
    packed.resize(rows * cols * static_cast<std::size_t>(bits) / 32);
    for (auto& v : packed) v = static_cast<std::uint32_t>(g());
    const std::size_t groups = rows * cols / static_cast<std::size_t>(gs);
    for (std::size_t i = 0; i < groups; ++i) {
      const auto& [s, b] = params[(i + g() % 3) % params.size()];
      scales.push_back(S(s));
      biases.push_back(S(b));
    }
    w = qmatrix<S>{packed.data(), scales.data(), biases.data(), rows, cols, {quant_mode::affine, bits, gs}};
  }
};

template <class S, class Out>
std::size_t mismatches(const qmatrix<S>& w, backend b, const executor& ex) {
  const std::size_t n = w.rows * w.cols;
  std::vector<Out> ref(n), got(n);
  reference::dequantize(w, ref.data());
  std::memset(static_cast<void*>(got.data()), 0x5a, n * sizeof(Out));  // no stale zeros passing as results
  kernels::dequantize(w, got.data(), ex, b);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (std::memcmp(&ref[i], &got[i], sizeof(Out)) != 0) ++bad;
  return bad;
}

template <class S>
void check_all_outs(const qmatrix<S>& w, backend b, const executor& ex, const std::string& what) {
  INFO(what << " " << to_string(b) << " b" << w.format.bits << " g" << w.format.group_size << " " << w.rows
            << "x" << w.cols << " S=" << dtype_name<S>());
  CHECK(mismatches<S, f16>(w, b, ex) == 0);
  CHECK(mismatches<S, bf16>(w, b, ex) == 0);
  CHECK(mismatches<S, float>(w, b, ex) == 0);
}

// f16: max 65504, smallest subnormal 2^-24 ~ 5.96e-8, smallest normal 2^-14 ~ 6.1e-5.
const std::vector<std::pair<float, float>> f16_params = {
    {0.0123f, -0.1f},    {-0.37f, 2.5f},         // ordinary, negative scale
    {5000.0f, 0.0f},     {-30000.0f, 1.0f},      // q*s overflows f16 for large q (±inf)
    {4000.0f, 60000.0f}, {-4000.0f, -65504.0f},  // finite q*s, (q*s)+b overflows
    {3e-7f, 1e-6f},      {-2e-6f, 6e-5f},        // subnormal products and sums
    {6.1e-5f, -6.1e-5f}, {0.0f, -0.0f},          // normal/subnormal boundary; zero scale, -0 bias
    {1.0f, 0.5f},        {0.33325f, -2.5f},      // ties in the second rounding
};
// bf16 and f32 scales: the same plus bf16/f32 subnormals and f32-range overflow.
const std::vector<std::pair<float, float>> wide_params = {
    {0.0123f, -0.1f}, {-0.37f, 2.5f},   {1e-39f, 2e-39f},    {-3e-40f, 1e-38f},
    {2e37f, 3e38f},   {-3e37f, -3e38f}, {5000.0f, 60000.0f}, {3e-7f, 1e-6f},
};

constexpr backend all_backends[] = {backend::scalar, backend::xsimd, backend::highway};

template <class S>
void shapes(backend b, const executor& ex, const std::vector<std::pair<float, float>>& params) {
  for (int bits : {2, 3, 4})
    for (int gs : {32, 64, 128}) {
      // one group per row (12..64-byte rows: the decoder's window runs past them), and a wider matrix
      const raw_matrix<S> one(bits, gs, 37, static_cast<std::size_t>(gs), params,
                              static_cast<unsigned>(bits * gs));
      check_all_outs(one.w, b, ex, "one group per row");
      const raw_matrix<S> wide(bits, gs, 37, 3 * 128, params, static_cast<unsigned>(bits * gs + 1));
      check_all_outs(wide.w, b, ex, "three 128-blocks per row");
    }
}

}  // namespace

TEST_CASE("table dequantize: special scales, every backend and group size") {
  for (backend b : all_backends) {
    shapes<f16>(b, {}, f16_params);
    shapes<bf16>(b, {}, wide_params);
    shapes<float>(b, {}, wide_params);
  }
}

TEST_CASE("table dequantize: every Highway target this CPU supports") {
  for (std::int64_t t : kernels::highway_targets()) {
    kernels::pin_highway_targets(t);
    INFO("target " << hwy::TargetName(t));
    for (int bits : {2, 3, 4}) {
      check_all_outs(raw_matrix<f16>(bits, 32, 9, 256, f16_params, 1).w, backend::highway, {}, "f16");
      check_all_outs(raw_matrix<bf16>(bits, 64, 9, 128, wide_params, 2).w, backend::highway, {}, "bf16");
    }
  }
  kernels::pin_highway_targets(0);
}

TEST_CASE("table dequantize: 2 and 3 threads, rows not a multiple of the split") {
  for (std::size_t n : {2u, 3u}) {
    thread_pool pool(n);
    for (backend b : all_backends) {
      check_all_outs(raw_matrix<f16>(4, 64, 101, 512, f16_params, 3).w, b, pool.get(), "threads");
      check_all_outs(raw_matrix<bf16>(3, 32, 77, 96, wide_params, 4).w, b, pool.get(), "threads");
    }
  }
}

TEST_CASE("table dequantize: known values (independent of the reference)") {
  // 4-bit codes 0..15 in order; f16 scale 5000, bias 1. q*s = 5000q rounds to
  // f16's spacing (8 in [8192, 16384), 16 up to 32768, 32 up to 65504), ties to
  // even: 25000 -> 24992, 50000 -> 49984; 65000 -> 64992; >= 65520 -> inf. The
  // + 1 then rounds back (spacing >= 4 past 4096).
  std::vector<std::uint32_t> packed = {0x76543210u, 0xfedcba98u};
  packed.resize(8, 0);
  const std::vector<f16> s = {f16(5000.0f)}, bias = {f16(1.0f)};
  const qmatrix<f16> w{packed.data(), s.data(), bias.data(), 1, 64, {quant_mode::affine, 4, 64}};
  const float inf = std::numeric_limits<float>::infinity();
  const float want[16] = {1.0f,     5000.0f,  10000.0f, 15000.0f, 20000.0f, 24992.0f, 30000.0f, 35008.0f,
                          40000.0f, 44992.0f, 49984.0f, 55008.0f, 60000.0f, 64992.0f, inf,      inf};
  for (backend b : all_backends) {
    std::vector<f16> got(64);
    kernels::dequantize(w, got.data(), {}, b);
    for (int q = 0; q < 16; ++q) {
      INFO(to_string(b) << " q=" << q);
      CHECK(to_float(got[static_cast<std::size_t>(q)]) == want[q]);
    }
    for (std::size_t i = 16; i < 64; ++i) CHECK(to_float(got[i]) == 1.0f);
  }
}
