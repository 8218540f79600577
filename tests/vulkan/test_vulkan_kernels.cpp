// Every Vulkan manifest variant, compiled from its embedded GLSL at run time,
// validated (SPIR-V validator, capabilities vs the manifest's features, the
// Khronos validation layer when LOWBIT_VK_VALIDATION=1) and run on awkward
// shapes against lowbit's scalar CPU reference (LUT: a local scalar loop).
// dequantize must be bit-exact; matmuls within f32 accumulation error.
// LOWBIT_VK_FILTER=substring restricts the variants (for debugging).
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lowbit/lowbit.hpp"
#include "lowbit_vk.hpp"
#include "vk_test_util.hpp"

namespace vk = lowbit::gpu::vulkan;
using lowbit::gpu::element;
using lowbit::gpu::kernel_kind;
using lowbit::gpu::kernel_variant;
using namespace lowbit_vk_test;

namespace {

/// Runs variant `v` (key `k`) for model dtype T; returns an error text or "".
template <class T>
std::string run_quant(lowbit_vk::context& ctx, const kernel_variant& v,
                      const lowbit::gpu::vulkan::variant_key& k, const std::vector<std::uint32_t>& spirv) {
  const lowbit::quant_format fmt{k.mode, k.bits, k.group_size};
  const bool fp = k.mode != lowbit::quant_mode::affine;
  const std::size_t g32 = static_cast<std::size_t>(std::max(k.group_size, 32));
  std::size_t rows = 13, cols = g32 * (g32 == 32 ? 149 : g32 == 64 ? 75 : 37), experts = 1, m = 1;
  if (k.kind == kernel_kind::qmm) rows = 70, cols = g32 * 3, m = 35;
  if (k.kind == kernel_kind::gather_qmv) experts = 3;
  if (k.kind == kernel_kind::dequantize) rows = 5, experts = 2;  // dequantize walks whole stacks
  const float global_scale =
      (k.mode == lowbit::quant_mode::nvfp4 && k.dtype != element::f32) ? 1000.0f : 0.0f;
  quantized<T> q =
      make_quantized<T>(fmt, rows, cols, experts, global_scale, 1234u + static_cast<unsigned>(k.bits));
  auto run = [&](auto scale_tag) -> std::string {
    using SC = decltype(scale_tag);
    const lowbit::qmatrix<SC> w = q.template view<SC>();
    gpu_buffers gb(ctx);
    auto& bp = gb.add(q.packed);
    auto& bs = fp ? gb.add(q.scales_u8) : gb.add(q.scales);
    lowbit_vk::bindings b{{0, &bp}, {1, &bs}};
    if (!fp) b.push_back({2, &gb.add(q.biases)});
    vk::push_params p;
    p.rows = static_cast<std::uint32_t>(rows);
    p.cols = static_cast<std::uint32_t>(cols);
    p.experts = static_cast<std::uint32_t>(experts);
    p.nv_scale = global_scale != 0.0f ? global_scale / 2688.0f : 1.0f;
    auto pipe = ctx.make_pipeline(v, spirv, {});
    std::string err;
    if (k.kind == kernel_kind::dequantize) {
      const std::size_t n = experts * rows * cols;
      std::vector<T> ref(n), got(n);
      lowbit::reference::dequantize(w, ref.data());
      auto& bo = gb.out(n * sizeof(T));
      b.push_back({4, &bo});
      p.count = static_cast<std::uint32_t>(n / 8);
      ctx.dispatch(pipe, b, p, lowbit_vk::grid_2d(p.count, v.workgroup[0]));
      ctx.download(bo, got.data(), n * sizeof(T));
      err = compare_exact(ref, got);
    } else {
      const std::size_t slots = k.kind == kernel_kind::gather_qmv ? 4 : m;
      const std::size_t xrows = k.kind == kernel_kind::gather_qmv ? 2 : m;
      const std::vector<T> x = random_vector<T>(xrows * cols, 99u);
      const std::vector<std::uint32_t> ids = {2, 0, 1, 2};
      std::vector<T> lib(slots * rows), got(slots * rows);
      const std::vector<std::uint32_t> no_ids;
      const matmul_ref ref =
          reference_matmul(float_weights(w), rows, cols, x, k.kind == kernel_kind::gather_qmv ? ids : no_ids,
                           k.kind == kernel_kind::gather_qmv ? 2 : m);
      if (k.kind == kernel_kind::gather_qmv)
        lowbit::reference::gather_qmv(w, x.data(), 2, ids.data(), 2, lib.data());
      else if (k.kind == kernel_kind::qmm)
        lowbit::reference::qmm(w, x.data(), m, lib.data());
      else
        lowbit::reference::qmv(w, x.data(), lib.data());
      b.push_back({3, &gb.add(x)});
      auto& by = gb.out(slots * rows * sizeof(T));
      b.push_back({4, &by});
      std::array<std::uint32_t, 3> grid{};
      if (k.kind == kernel_kind::qmm) {
        p.m = static_cast<std::uint32_t>(m);
        grid = {static_cast<std::uint32_t>((rows + 63) / 64), static_cast<std::uint32_t>((m + 31) / 32), 1};
      } else {
        const std::uint32_t rpw = v.spec_constants[1].default_value;
        grid = {static_cast<std::uint32_t>((rows + rpw - 1) / rpw), static_cast<std::uint32_t>(slots), 1};
        if (k.kind == kernel_kind::gather_qmv) {
          p.m = 2;
          p.top_k = 2;
          b.push_back({5, &gb.add(ids)});
        }
      }
      ctx.dispatch(pipe, b, p, grid);
      ctx.download(by, got.data(), got.size() * sizeof(T));
      // Strict: the f32-weight matmul; loose: lowbit's reference, whose affine
      // weights are rounded to the scales dtype (one rounding of S per weight).
      err = compare_close(ref.y, got, ref.mag, 2e-5);
      const double u_s = std::is_same_v<T, float>         ? 0.0
                         : std::is_same_v<T, lowbit::f16> ? 1.0 / 1024
                                                          : 1.0 / 128;
      if (err.empty()) err = compare_close(lib, got, ref.mag, 2e-5 + u_s);
    }
    ctx.destroy(pipe);
    return err;
  };
  return fp ? run(std::uint8_t{}) : run(T{});
}

template <class T>
std::string run_lut(lowbit_vk::context& ctx, const kernel_variant& v,
                    const lowbit::gpu::vulkan::variant_key& k, const std::vector<std::uint32_t>& spirv) {
  std::string err;
  struct shape {
    std::size_t rows, cols, group;
  };
  for (const shape s : {shape{12, 37, 4}, shape{5, 300, 0}}) {
    const lut_case<T> c =
        make_lut_case<T>(k.bits, s.rows, s.cols, s.group, 7u + static_cast<unsigned>(k.bits));
    gpu_buffers gb(ctx);
    lowbit_vk::bindings b{{0, &gb.add(c.stream)}, {1, &gb.add(c.lut)}};
    vk::push_params p;
    p.rows = static_cast<std::uint32_t>(s.rows);
    p.cols = static_cast<std::uint32_t>(s.cols);
    p.lut_group = static_cast<std::uint32_t>(s.group);
    auto pipe = ctx.make_pipeline(v, spirv, {});
    if (k.kind == kernel_kind::lut_dequantize) {
      const std::size_t n = s.rows * s.cols;
      std::vector<T> got(n);
      auto& bo = gb.out(n * sizeof(T));
      b.push_back({4, &bo});
      p.count = static_cast<std::uint32_t>(n);
      ctx.dispatch(pipe, b, p, lowbit_vk::grid_2d(n, v.workgroup[0]));
      ctx.download(bo, got.data(), n * sizeof(T));
      err += compare_exact(c.dense, got);
    } else {
      const std::vector<T> x = random_vector<T>(s.cols, 5u);
      std::vector<T> ref(s.rows), got(s.rows);
      std::vector<double> mag(s.rows);
      for (std::size_t r = 0; r < s.rows; ++r) {
        double acc = 0, a = 0;
        for (std::size_t j = 0; j < s.cols; ++j) {
          const double wv = lowbit::to_float(c.dense[r * s.cols + j]), xv = lowbit::to_float(x[j]);
          acc += wv * xv;
          a += std::fabs(wv * xv);
        }
        ref[r] = lowbit::from_float<T>(static_cast<float>(acc));
        mag[r] = a;
      }
      b.push_back({3, &gb.add(x)});
      auto& by = gb.out(s.rows * sizeof(T));
      b.push_back({4, &by});
      const std::uint32_t rpw = v.spec_constants[1].default_value;
      ctx.dispatch(pipe, b, p, {static_cast<std::uint32_t>((s.rows + rpw - 1) / rpw), 1, 1});
      ctx.download(by, got.data(), s.rows * sizeof(T));
      err += compare_close(ref, got, mag, 2e-5);
    }
    ctx.destroy(pipe);
  }
  return err;
}

std::string run_copy(lowbit_vk::context& ctx, const kernel_variant& v,
                     const std::vector<std::uint32_t>& spirv) {
  std::vector<std::uint32_t> src(4 * 1000 + 4);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::uint32_t>(i * 2654435761u);
  gpu_buffers gb(ctx);
  auto& bs = gb.add(src);
  auto& bd = gb.out(src.size() * 4);
  vk::push_params p;
  p.count = static_cast<std::uint32_t>(src.size() / 4);
  auto pipe = ctx.make_pipeline(v, spirv, {});
  ctx.dispatch(pipe, {{0, &bs}, {1, &bd}}, p, lowbit_vk::grid_2d(p.count, v.workgroup[0]));
  std::vector<std::uint32_t> got(src.size());
  ctx.download(bd, got.data(), got.size() * 4);
  ctx.destroy(pipe);
  return got == src ? "" : "copy mismatch";
}

template <class F>
std::string by_dtype(element t, F&& f) {
  switch (t) {
    case element::f16:
      return f(lowbit::f16{});
    case element::bf16:
      return f(lowbit::bf16{});
    default:
      return f(float{});
  }
}

}  // namespace

// Fills the SPIR-V cache on all cores: ctest runs this once as a fixture so
// the two lavapipe runs below only build pipelines.
TEST_CASE("compile every variant into the SPIR-V cache") {
  std::atomic<std::size_t> next{0}, failed{0};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < std::max(1u, std::thread::hardware_concurrency()); ++t)
    pool.emplace_back([&] {
      for (std::size_t i; (i = next++) < vk::variants.size();) try {
          (void)cached_spirv(vk::variants[i]);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "%s\n", e.what());
          ++failed;
        }
    });
  for (auto& t : pool) t.join();
  CHECK(failed == 0);
}

TEST_CASE("every Vulkan variant compiles, validates and matches the CPU reference") {
  const bool validation = env_flag("LOWBIT_VK_VALIDATION");
  lowbit_vk::context ctx({validation, -1});
  MESSAGE("device: " << ctx.device_name() << ", subgroup size " << ctx.subgroup_size()
                     << std::string(validation ? ", validation layer on" : ""));
  const char* filter = std::getenv("LOWBIT_VK_FILTER");
  std::size_t ran = 0, skipped = 0;
  for (std::size_t i = 0; i < vk::variants.size(); ++i) {
    const kernel_variant& v = vk::variants[i];
    const auto& k = vk::keys[i];
    if (filter && std::string(v.name).find(filter) == std::string::npos) continue;
    INFO("variant " << v.name);
    if (!ctx.supports(v.features)) {
      ++skipped;
      continue;
    }
    const std::vector<std::uint32_t> spirv = cached_spirv(v);
    const std::string invalid = lowbit_vk::validate_spirv(spirv);
    CHECK_MESSAGE(invalid.empty(), invalid);
    const std::string caps = capability_mismatch(v, lowbit_vk::spirv_capabilities(spirv));
    CHECK_MESSAGE(caps.empty(), caps);
    std::string err;
    if (k.kind == kernel_kind::copy) {
      err = run_copy(ctx, v, spirv);
    } else if (k.kind == kernel_kind::lut_dequantize || k.kind == kernel_kind::lut_qmv) {
      err = by_dtype(k.dtype, [&](auto t) { return run_lut<decltype(t)>(ctx, v, k, spirv); });
    } else {
      err = by_dtype(k.dtype, [&](auto t) { return run_quant<decltype(t)>(ctx, v, k, spirv); });
    }
    CHECK_MESSAGE(err.empty(), err);
    ++ran;
  }
  MESSAGE(ran << " variants run, " << skipped << " skipped for missing device features");
  CHECK(ran > 0);
  if (validation) CHECK_MESSAGE(ctx.validation_messages() == 0, ctx.last_validation_message());
}
