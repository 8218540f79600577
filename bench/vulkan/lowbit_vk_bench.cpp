// lowbit-vk-bench: GPU bandwidth of lowbit's Vulkan kernels, rated against a
// copy kernel measured in the same run (DESIGN.md §7). Device-local buffers,
// timestamp queries, a warm-up dispatch, then `reps` dispatches per number.
//   lowbit-vk-bench [--gib G] [--reps N] [--sweep]
// G: size of the 4-bit matrix and of the copy source in GiB (default 1).
// --sweep also times the qmv spec-constant grid (WG_SIZE x ROWS).
// Effective bandwidth = bytes the kernel must move (packed + scales + biases +
// x + y; dequantize also its output) / time; ratio = that / copy bandwidth,
// where copy moves 2 x its buffer (read + write).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "lowbit_vk.hpp"

namespace {

namespace vk = lowbit::gpu::vulkan;
using lowbit::gpu::element;
using lowbit::gpu::kernel_kind;
using lowbit::gpu::kernel_variant;

struct bench {
  lowbit_vk::context ctx;
  int reps = 20;
  double copy_gbs = 0;

  lowbit_vk::buffer filled(std::size_t bytes, std::uint32_t seed, std::uint32_t fixed = 0,
                           bool use_fixed = false) {
    std::vector<std::uint32_t> v((bytes + 3) / 4);
    std::uint32_t s = seed * 2654435761u + 1;
    for (auto& w : v) {
      s ^= s << 13, s ^= s >> 17, s ^= s << 5;
      w = use_fixed ? fixed : s;
    }
    auto b = ctx.make_buffer(bytes, false);
    ctx.upload(b, v.data(), v.size() * 4);
    return b;
  }

  double time(const kernel_variant& v, const std::vector<std::uint32_t>& spec, const lowbit_vk::bindings& b,
              const vk::push_params& p, std::array<std::uint32_t, 3> grid) {
    auto pipe = ctx.make_pipeline(v, lowbit_vk::compile_glsl(v), spec);
    // Warm up for >= 1 s of GPU time: the SM clock ramps up under load and
    // short warm-ups measured compute-heavy kernels at a fraction of it.
    for (double spent = 0; spent < 1000.0;) spent += 10 * ctx.dispatch(pipe, b, p, grid, 10);
    const double ms = ctx.dispatch(pipe, b, p, grid, reps);
    ctx.destroy(pipe);
    return ms;
  }

  void row(const char* what, const std::string& shape, std::string_view variant, const std::string& spec,
           double bytes, double ms) {
    const double gbs = bytes / (ms * 1e-3) / 1e9;
    std::printf("| %-12s | %-26s | %-30.*s | %-9s | %8.3f | %7.0f | %5.2f |\n", what, shape.c_str(),
                static_cast<int>(variant.size()), variant.data(), spec.c_str(), ms, gbs,
                copy_gbs > 0 ? gbs / copy_gbs : 1.0);
    std::fflush(stdout);
  }

  const kernel_variant& variant(kernel_kind k, const lowbit::quant_format& f, element t, bool sg) {
    const int i = vk::find_variant(k, f, t, sg && ctx.supports(lowbit::gpu::feature_subgroup_arithmetic));
    if (i < 0) std::abort();
    return vk::variants[static_cast<std::size_t>(i)];
  }

  void copy(std::size_t bytes) {
    auto src = filled(bytes, 1), dst = ctx.make_buffer(bytes, false);
    const auto& v = vk::variants[static_cast<std::size_t>(vk::find_variant("copy_u32"))];
    vk::push_params p;
    p.count = static_cast<std::uint32_t>(bytes / 16);
    const double ms = time(v, {256}, {{0, &src}, {1, &dst}}, p, lowbit_vk::grid_2d(p.count, 256));
    copy_gbs = 0;
    row("copy", std::to_string(bytes >> 20) + " MiB", v.name, "256", 2.0 * double(bytes), ms);
    copy_gbs = 2.0 * double(bytes) / (ms * 1e-3) / 1e9;
    ctx.destroy(src);
    ctx.destroy(dst);
  }

  /// qmv (or gather_qmv over `experts` with top_k = experts, one token) of a
  /// [rows, cols] matrix per expert.
  void qmv(const lowbit::quant_format& f, std::size_t rows, std::size_t cols, std::size_t experts,
           const std::vector<std::vector<std::uint32_t>>& specs, bool both_reductions) {
    const bool fp = f.mode != lowbit::quant_mode::affine;
    const std::size_t packed = experts * rows * cols * static_cast<std::size_t>(f.bits) / 8;
    const std::size_t groups = experts * rows * cols / static_cast<std::size_t>(f.group_size);
    const std::size_t sbytes = groups * (fp ? 1 : 2);
    auto bp = filled(packed, 2);
    auto bs = filled(sbytes, 3, fp ? 0x7a7a7a7au : 0x20002000u, true);  // benign scales: e8m0 2^-5 / f16 2^-7
    auto bb = filled(sbytes, 4, 0, true);
    auto bx = filled(cols * 2, 5, 0x3c003c00u, true);  // f16 1.0
    const std::size_t slots = experts;
    auto by = ctx.make_buffer(slots * rows * 2, false);
    std::vector<std::uint32_t> ids(experts);
    for (std::size_t e = 0; e < experts; ++e) ids[e] = static_cast<std::uint32_t>((e * 7) % experts);
    auto bi = filled(experts * 4, 6);
    ctx.upload(bi, ids.data(), ids.size() * 4);
    vk::push_params p;
    p.rows = static_cast<std::uint32_t>(rows);
    p.cols = static_cast<std::uint32_t>(cols);
    p.experts = static_cast<std::uint32_t>(experts);
    p.m = 1;
    p.top_k = static_cast<std::uint32_t>(experts);
    lowbit_vk::bindings b{{0, &bp}, {1, &bs}, {3, &bx}, {4, &by}, {5, &bi}};
    if (!fp) b.push_back({2, &bb});
    const double bytes =
        double(packed) + double(sbytes) * (fp ? 1 : 2) + double(cols * 2) + double(slots * rows * 2);
    const kernel_kind kind = experts > 1 ? kernel_kind::gather_qmv : kernel_kind::qmv;
    const std::string shape = (experts > 1 ? std::to_string(experts) + "x" : "") + std::to_string(rows) +
                              "x" + std::to_string(cols);
    for (bool sg : both_reductions ? std::vector<bool>{true, false} : std::vector<bool>{true}) {
      const auto& v = variant(kind, f, element::f16, sg);
      for (const auto& spec : specs) {
        const std::uint32_t rpw = spec[1];
        const double ms =
            time(v, spec, b, p,
                 {static_cast<std::uint32_t>((rows + rpw - 1) / rpw), static_cast<std::uint32_t>(slots), 1});
        row(experts > 1 ? "gather_qmv" : "qmv", shape, v.name,
            std::to_string(spec[0]) + "x" + std::to_string(spec[1]), bytes, ms);
      }
    }
    for (auto* x : {&bp, &bs, &bb, &bx, &by, &bi}) ctx.destroy(*x);
  }

  void dequantize(const lowbit::quant_format& f, std::size_t rows, std::size_t cols) {
    const bool fp = f.mode != lowbit::quant_mode::affine;
    const std::size_t n = rows * cols, packed = n * static_cast<std::size_t>(f.bits) / 8;
    const std::size_t sbytes = n / static_cast<std::size_t>(f.group_size) * (fp ? 1 : 2);
    auto bp = filled(packed, 7);
    auto bs = filled(sbytes, 8, fp ? 0x7a7a7a7au : 0x20002000u, true);
    auto bb = filled(sbytes, 9, 0, true);
    auto bo = ctx.make_buffer(n * 2, false);
    const auto& v = variant(kernel_kind::dequantize, f, element::f16, false);
    vk::push_params p;
    p.rows = static_cast<std::uint32_t>(rows);
    p.cols = static_cast<std::uint32_t>(cols);
    p.count = static_cast<std::uint32_t>(n / 8);
    lowbit_vk::bindings b{{0, &bp}, {1, &bs}, {4, &bo}};
    if (!fp) b.push_back({2, &bb});
    for (std::uint32_t wg : {128u, 256u}) {
      const double ms = time(v, {wg}, b, p, lowbit_vk::grid_2d(p.count, wg));
      row("dequantize", std::to_string(rows) + "x" + std::to_string(cols), v.name, std::to_string(wg),
          double(packed) + double(sbytes) * (fp ? 1 : 2) + double(n * 2), ms);
    }
    for (auto* x : {&bp, &bs, &bb, &bo}) ctx.destroy(*x);
  }

  void qmm(const lowbit::quant_format& f, std::size_t m, std::size_t rows, std::size_t cols) {
    const std::size_t packed = rows * cols * static_cast<std::size_t>(f.bits) / 8,
                      sbytes = rows * cols / 64 * 2;
    auto bp = filled(packed, 10);
    auto bs = filled(sbytes, 11, 0x20002000u, true);
    auto bb = filled(sbytes, 12, 0, true);
    auto bx = filled(m * cols * 2, 13, 0x3c003c00u, true);
    auto by = ctx.make_buffer(m * rows * 2, false);
    const auto& v = variant(kernel_kind::qmm, f, element::f16, false);
    vk::push_params p;
    p.rows = static_cast<std::uint32_t>(rows);
    p.cols = static_cast<std::uint32_t>(cols);
    p.m = static_cast<std::uint32_t>(m);
    const double ms =
        time(v, {}, {{0, &bp}, {1, &bs}, {2, &bb}, {3, &bx}, {4, &by}}, p,
             {static_cast<std::uint32_t>((rows + 63) / 64), static_cast<std::uint32_t>((m + 31) / 32), 1});
    const double gflops = 2.0 * double(m * rows * cols) / (ms * 1e-3) / 1e9;
    std::printf("| qmm          | m=%zu %zux%zu | %.*s | %.3f ms | %.0f GFLOP/s |\n", m, rows, cols,
                static_cast<int>(v.name.size()), v.name.data(), ms, gflops);
    for (auto* x : {&bp, &bs, &bb, &bx, &by}) ctx.destroy(*x);
  }
};

}  // namespace

int main(int argc, char** argv) try {
  double gib = 1.0;
  int reps = 20;
  bool sweep = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--gib") && i + 1 < argc)
      gib = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--sweep"))
      sweep = true;
    else {
      std::fprintf(stderr, "usage: lowbit-vk-bench [--gib G] [--reps N] [--sweep]\n");
      return 2;
    }
  }
  bench bn;
  bn.reps = reps;
  std::printf("device: %s, subgroup size %u, reps %d\n\n", bn.ctx.device_name().c_str(),
              bn.ctx.subgroup_size(), reps);
  std::printf(
      "| kernel       | shape                      | variant                        | spec      |       ms | "
      "   GB/s | ratio |\n");
  std::printf("|---|---|---|---|---:|---:|---:|\n");
  const auto bytes = static_cast<std::size_t>(gib * double(1u << 30)) / 4096 * 4096;
  bn.copy(bytes);
  using lowbit::quant_mode;
  const lowbit::quant_format q4{quant_mode::affine, 4, 64};
  const std::size_t cols = 65536;
  const std::size_t rows4 = bytes * 2 / cols;  // 4-bit: `bytes` of packed weights
  std::vector<std::vector<std::uint32_t>> specs = {{128, 4}};
  if (sweep) specs = {{64, 2}, {64, 4}, {128, 1}, {128, 2}, {128, 4}, {128, 8}, {256, 2}, {256, 4}, {256, 8}};
  bn.qmv(q4, rows4, cols, 1, specs, true);
  if (std::getenv("LOWBIT_VK_ONLY_QMV4")) return 0;
  for (int bits : {2, 3, 8})
    bn.qmv({quant_mode::affine, bits, 64}, bytes * 8 / (cols * static_cast<std::size_t>(bits)), cols, 1,
           {{128, 4}}, false);
  bn.qmv(lowbit::default_format(quant_mode::mxfp4), rows4, cols, 1, {{128, 4}}, false);
  bn.qmv(lowbit::default_format(quant_mode::nvfp4), rows4, cols, 1, {{128, 4}}, false);
  bn.qmv(lowbit::default_format(quant_mode::mxfp8), rows4 / 2, cols, 1, {{128, 4}}, false);
  // MoE: 16 experts of [rows, 16384], each slot reads a different expert.
  bn.qmv(q4, bytes * 2 / 16384 / 16, 16384, 16, {{128, 4}}, false);
  bn.dequantize(q4, bytes / 2 / 32768, 32768);  // 256 MiB packed -> 1 GiB of f16 out
  bn.qmm(q4, 32, 8192, 8192);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "lowbit-vk-bench: %s\n", e.what());
  return 1;
}
