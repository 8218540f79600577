// MoE expert stacks against MLX's gather_qmm (tests/data/gather_qmm_f32.safetensors):
// stacked quantization bit-exact, gather_qmv / gather_qmm outputs in tolerance,
// including repeated, unused and sorted expert ids and lhs-indexed batches.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "golden.hpp"
#include "lowbit/lowbit.hpp"

namespace {

using lowbit::quant_format;
using lowbit::quant_mode;
constexpr std::size_t E = 4, R = 64, C = 256;

template <class S>
struct stack {
  std::vector<std::uint32_t> packed;
  std::vector<S> scales, biases;
  lowbit::qmatrix<S> view(quant_format f) const {
    return {packed.data(), scales.data(), biases.empty() ? nullptr : biases.data(), R, C, f, E};
  }
};

template <class S>
stack<S> quantized(const golden::file& g, const std::string& p, quant_format f) {
  const auto w = g.get<float>("w");
  stack<S> s;
  s.packed.resize(E * R * C * f.bits / 32);
  s.scales.resize(E * R * C / f.group_size);
  if (f.mode == quant_mode::affine) s.biases.resize(s.scales.size());
  lowbit::quantize(f, w.data(), E * R, C, s.packed.data(), s.scales.data(),
                   s.biases.empty() ? nullptr : s.biases.data());
  CHECK(golden::count_bit_mismatches(s.packed, g.get<std::uint32_t>(p + ".wq"), p + ".wq") == 0);
  CHECK(golden::count_bit_mismatches(s.scales, g.get<S>(p + ".scales"), p + ".scales") == 0);
  if (!s.biases.empty())
    CHECK(golden::count_bit_mismatches(s.biases, g.get<S>(p + ".biases"), p + ".biases") == 0);
  return s;
}

// Both gather entry points against MLX's output; `mag` bounds from |W| |x|.
template <class S>
void check_gather(const lowbit::qmatrix<S>& q, const std::vector<float>& x, std::size_t tokens,
                  const std::vector<std::uint32_t>& ids, std::size_t top_k, const std::vector<float>& want,
                  const std::string& what) {
  CAPTURE(what);
  std::vector<float> deq(E * R * C);
  lowbit::reference::dequantize(q, deq.data());
  for (int variant = 0; variant < 2; ++variant) {
    std::vector<float> y(tokens * top_k * R);
    if (variant == 0)
      lowbit::gather_qmv(q, x.data(), tokens, ids.data(), top_k, y.data());
    else
      lowbit::gather_qmm(q, x.data(), tokens, ids.data(), top_k, y.data());
    REQUIRE(want.size() == y.size());
    for (std::size_t i = 0; i < tokens * top_k; ++i)
      for (std::size_t r = 0; r < R; ++r) {
        const float* wr = deq.data() + (ids[i] * R + r) * C;
        double mag = 0;
        for (std::size_t c = 0; c < C; ++c) mag += std::fabs(double(wr[c]) * x[(i / top_k) * C + c]);
        CHECK_MESSAGE(std::fabs(double(y[i * R + r]) - want[i * R + r]) <= 1e-5 * mag,
                      (variant ? "gather_qmm" : "gather_qmv") << " out[" << i << "," << r << "]");
      }
  }
}

std::vector<std::uint32_t> ids_of(const golden::file& g, const std::string& name) {
  if (name == "B.rhs_indices") {
    const auto v = g.get<std::int32_t>(name);
    return {v.begin(), v.end()};
  }
  return g.get<std::uint32_t>(name);
}

}  // namespace

TEST_CASE("gather over 4 stacked experts matches MLX gather_qmm") {
  const golden::file g("gather_qmm_f32.safetensors");
  const auto b4 = quantized<float>(g, "b4_gs64", {quant_mode::affine, 4, 64});
  const auto b3 = quantized<float>(g, "b3_gs32", {quant_mode::affine, 3, 32});
  const auto fp4 = quantized<std::uint8_t>(g, "mxfp4", lowbit::default_format(quant_mode::mxfp4));
  const auto qb4 = b4.view({quant_mode::affine, 4, 64});
  const auto qb3 = b3.view({quant_mode::affine, 3, 32});
  const auto qfp4 = fp4.view(lowbit::default_format(quant_mode::mxfp4));

  // A: 5 tokens, one expert each (repeated id 3).
  const auto ax = g.get<float>("A.x");
  const auto aids = ids_of(g, "A.rhs_indices");
  check_gather(qb4, ax, 5, aids, 1, g.get<float>("A.b4_gs64.out"), "A b4");
  check_gather(qb3, ax, 5, aids, 1, g.get<float>("A.b3_gs32.out"), "A b3");
  check_gather(qfp4, ax, 5, aids, 1, g.get<float>("A.mxfp4.out"), "A mxfp4");
  // B: mlx-lm SwitchGLU layout, top-2 with a repeated pair {1, 1}; expert 3 used once.
  check_gather(qb4, g.get<float>("B.x"), 3, ids_of(g, "B.rhs_indices"), 2, g.get<float>("B.b4_gs64.out"),
               "B");
  // C: sorted ids.
  check_gather(qb4, g.get<float>("C.x"), 6, ids_of(g, "C.rhs_indices"), 1, g.get<float>("C.b4_gs64.out"),
               "C");

  // D: out[i] = x[lhs[i]] (3 rows) @ W[rhs[i]]^T: as 12 single-expert tokens.
  const auto dx = g.get<float>("D.x");
  const auto lhs = g.get<std::uint32_t>("D.lhs_indices");
  const auto rhs = g.get<std::uint32_t>("D.rhs_indices");
  std::vector<float> x12;
  std::vector<std::uint32_t> ids12;
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t m = 0; m < 3; ++m) {
      x12.insert(x12.end(), dx.begin() + (lhs[i] * 3 + m) * C, dx.begin() + (lhs[i] * 3 + m + 1) * C);
      ids12.push_back(rhs[i]);
    }
  check_gather(qb4, x12, 12, ids12, 1, g.get<float>("D.b4_gs64.out"), "D");
}
