// lowbit-vk-run [rows cols]: quantize a random matrix to MLX 4-bit g64 (f16),
// run the qmv variant chosen from the manifest on the first Vulkan device, and
// compare with lowbit's CPU reference. The smallest end-to-end use of the
// embedded GLSL sources.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "lowbit/lowbit.hpp"
#include "lowbit_vk.hpp"

int main(int argc, char** argv) try {
  namespace vk = lowbit::gpu::vulkan;
  const std::size_t rows = argc > 2 ? std::strtoul(argv[1], nullptr, 10) : 1000;
  const std::size_t cols = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 4096;
  const lowbit::quant_format fmt{lowbit::quant_mode::affine, 4, 64};

  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  std::vector<lowbit::f16> w(rows * cols), x(cols), y(rows), ref(rows);
  for (auto& v : w) v = lowbit::f16(nd(rng));
  for (auto& v : x) v = lowbit::f16(nd(rng));
  std::vector<std::uint32_t> packed(rows * cols * 4 / 32);
  std::vector<lowbit::f16> scales(rows * cols / 64), biases(scales.size());
  lowbit::quantize(fmt, w.data(), rows, cols, packed.data(), scales.data(), biases.data());
  const lowbit::qmatrix<lowbit::f16> q{packed.data(), scales.data(), biases.data(), rows, cols, fmt};
  lowbit::reference::qmv(q, x.data(), ref.data());

  lowbit_vk::context ctx;
  const int idx = vk::find_variant(lowbit::gpu::kernel_kind::qmv, fmt, lowbit::gpu::element::f16,
                                   ctx.supports(lowbit::gpu::feature_subgroup_arithmetic));
  const auto& v = vk::variants[static_cast<std::size_t>(idx)];
  std::printf("device: %s (subgroup %u), variant %.*s\n", ctx.device_name().c_str(), ctx.subgroup_size(),
              static_cast<int>(v.name.size()), v.name.data());
  auto pipe = ctx.make_pipeline(v, lowbit_vk::compile_glsl(v));
  auto bp = ctx.make_buffer(packed.size() * 4), bs = ctx.make_buffer(scales.size() * 2),
       bb = ctx.make_buffer(biases.size() * 2), bx = ctx.make_buffer(cols * 2),
       by = ctx.make_buffer(rows * 2);
  ctx.upload(bp, packed.data(), packed.size() * 4);
  ctx.upload(bs, scales.data(), scales.size() * 2);
  ctx.upload(bb, biases.data(), biases.size() * 2);
  ctx.upload(bx, x.data(), cols * 2);
  vk::push_params p;
  p.rows = static_cast<std::uint32_t>(rows);
  p.cols = static_cast<std::uint32_t>(cols);
  const std::uint32_t rows_per_wg = v.spec_constants[1].default_value;
  const double ms = ctx.dispatch(pipe, {{0, &bp}, {1, &bs}, {2, &bb}, {3, &bx}, {4, &by}}, p,
                                 {static_cast<std::uint32_t>((rows + rows_per_wg - 1) / rows_per_wg), 1, 1});
  ctx.download(by, y.data(), rows * 2);
  double max_err = 0, max_ref = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    max_err = std::max(max_err, std::fabs(double(lowbit::to_float(y[r])) - lowbit::to_float(ref[r])));
    max_ref = std::max(max_ref, std::fabs(double(lowbit::to_float(ref[r]))));
  }
  // The CPU reference rounds each weight to f16 and the output is f16: allow a few f16 ulps.
  const double rel = max_err / std::max(max_ref, 1e-30);
  std::printf("qmv %zux%zu: %.3f ms, max |gpu - cpu| = %.3g (%.2g of max |y|)\n", rows, cols, ms, max_err,
              rel);
  for (auto* b : {&bp, &bs, &bb, &bx, &by}) ctx.destroy(*b);
  ctx.destroy(pipe);
  return rel < 4e-3 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "lowbit-vk-run: %s\n", e.what());
  return 1;
}
