// Test data for the kernel tests: MLX-quantized random matrices (through the
// library's quantize, which the golden tests check bit-exactly) and random
// activations. The expected values are computed by each test, not here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "lowbit/lowbit.hpp"

namespace kernel_test {
using namespace lowbit;

template <class S>
struct qdata {
  std::vector<std::uint32_t> packed;
  std::vector<S> scales, biases;
  qmatrix<S> w{};
};

template <class S>
qdata<S> make(quant_format f, std::size_t experts, std::size_t rows, std::size_t cols, unsigned seed,
              float global_scale = 0.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> wf(rows * cols);
  qdata<S> q;
  const std::size_t words = rows * cols * static_cast<std::size_t>(f.bits) / 32,
                    groups = rows * cols / static_cast<std::size_t>(f.group_size);
  q.packed.resize(experts * words);
  q.scales.resize(experts * groups);
  if (f.mode == quant_mode::affine) q.biases.resize(experts * groups);
  for (std::size_t e = 0; e < experts; ++e) {
    for (auto& v : wf) v = d(g) * (1.0f + static_cast<float>(e));
    quantize(f, wf.data(), rows, cols, q.packed.data() + e * words, q.scales.data() + e * groups,
             q.biases.empty() ? nullptr : q.biases.data() + e * groups, global_scale);
  }
  q.w = qmatrix<S>{
      q.packed.data(), q.scales.data(), q.biases.empty() ? nullptr : q.biases.data(), rows, cols, f,
      experts,         global_scale};
  return q;
}

inline std::vector<float> randv(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

}  // namespace kernel_test
