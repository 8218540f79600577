// lowbit Metal host example (macOS, Objective-C++). For each selected manifest
// variant: compile its program with newLibraryWithSource (once per program),
// take the [[host_name]] entry, bind buffers by the manifest's roles and
// indices, pass the argument struct with setBytes at params_index, dispatch
// the manifest's grid, and compare with lowbit's CPU reference.
//   lowbit_metal_example                 # a few representative variants
//   lowbit_metal_example --all           # every dequantize/qmv/qmm/gather_qmv variant with f32 or f16
//   lowbit_metal_example NAME...         # the named variants
// NOT built or run on Linux; .github/workflows/metal.yml runs it on a macOS runner.
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "lowbit/gpu/metal/manifest.hpp"
#include "lowbit/kernels/reference.hpp"
#include "lowbit/lowbit.hpp"

namespace gpu = lowbit::gpu;
namespace mtl = lowbit::gpu::metal;

namespace {

struct host {
  id<MTLDevice> device = MTLCreateSystemDefaultDevice();
  id<MTLCommandQueue> queue = [device newCommandQueue];
  std::map<std::string, id<MTLLibrary>> libraries;  // by program source address

  id<MTLComputePipelineState> pipeline(const gpu::kernel_variant& v) {
    const std::string key = std::to_string(reinterpret_cast<std::uintptr_t>(v.source.data()));
    if (!libraries.count(key)) {
      MTLCompileOptions* options = [MTLCompileOptions new];
      options.languageVersion = MTLLanguageVersion3_1;  // bfloat
      // Bit-exact dequantize needs IEEE division and no reassociation.
      if (@available(macOS 15.0, *)) {
        options.mathMode = MTLMathModeSafe;
      } else {
        options.fastMathEnabled = NO;
      }
      NSError* error = nil;
      NSString* src = [[NSString alloc] initWithBytes:v.source.data() length:v.source.size() encoding:NSUTF8StringEncoding];
      id<MTLLibrary> lib = [device newLibraryWithSource:src options:options error:&error];
      if (!lib) {
        std::fprintf(stderr, "compile failed: %s\n", error.localizedDescription.UTF8String);
        std::exit(1);
      }
      libraries[key] = lib;
    }
    NSString* entry = [[NSString alloc] initWithBytes:v.entry.data() length:v.entry.size() encoding:NSUTF8StringEncoding];
    id<MTLFunction> fn = [libraries[key] newFunctionWithName:entry];
    if (!fn) {
      std::fprintf(stderr, "no function %.*s\n", int(v.entry.size()), v.entry.data());
      std::exit(1);
    }
    NSError* error = nil;
    return [device newComputePipelineStateWithFunction:fn error:&error];
  }

  id<MTLBuffer> buffer(const void* data, std::size_t bytes) {
    return [device newBufferWithBytes:data length:std::max<std::size_t>(bytes, 4) options:MTLResourceStorageModeShared];
  }

  /// Binds by role (manifest), args at params_index, grid from grid_of(kind); waits.
  template <class Args>
  void run(const gpu::kernel_variant& v, const std::map<gpu::buffer_role, id<MTLBuffer>>& data, const Args& args) {
    id<MTLComputePipelineState> pso = pipeline(v);
    id<MTLCommandBuffer> cb = [queue commandBuffer];
    id<MTLComputeCommandEncoder> enc = [cb computeCommandEncoder];
    [enc setComputePipelineState:pso];
    for (const gpu::binding& b : v.bindings) [enc setBuffer:data.at(b.role) offset:0 atIndex:b.index];
    [enc setBytes:&args length:sizeof(Args) atIndex:mtl::params_index];
    const auto rule = mtl::grid_of(v.kind);
    auto field = [&](std::string_view name) -> std::uint64_t {
      if (name.empty()) return 1;
      for (const auto& f : v.params)
        if (f.name == name) return *reinterpret_cast<const std::uint32_t*>(reinterpret_cast<const char*>(&args) + f.offset);
      return 1;
    };
    std::uint64_t g[3];
    for (int i = 0; i < 3; ++i) g[i] = (field(rule[i].a) * field(rule[i].b) + rule[i].divisor - 1) / rule[i].divisor;
    [enc dispatchThreadgroups:MTLSizeMake(g[0], g[1], g[2])
        threadsPerThreadgroup:MTLSizeMake(v.workgroup[0], v.workgroup[1], v.workgroup[2])];
    [enc endEncoding];
    [cb commit];
    [cb waitUntilCompleted];
  }
};

template <class T, class S>
bool check(host& h, const gpu::kernel_variant& v, const mtl::variant_key& k) {
  const lowbit::quant_format f{k.mode, k.bits, k.group_size};
  const std::size_t rows = 100, cols = 8 * static_cast<std::size_t>(k.group_size), m = 5;
  std::mt19937 rng(1);
  std::normal_distribution<float> d;
  std::vector<float> w(rows * cols);
  for (auto& e : w) e = d(rng);
  std::vector<std::uint32_t> packed(rows * lowbit::words_per_row(f, cols));
  std::vector<S> scales(rows * lowbit::groups_per_row(f, cols)), biases(k.mode == lowbit::quant_mode::affine ? scales.size() : 0);
  lowbit::quantize<float, S>(f, w.data(), rows, cols, packed.data(), scales.data(), biases.empty() ? nullptr : biases.data());
  const lowbit::qmatrix<S> q{packed.data(), scales.data(), biases.empty() ? nullptr : biases.data(), rows, cols, f};
  std::vector<T> x(m * cols);
  for (auto& e : x) e = lowbit::from_float<T>(d(rng));
  const std::vector<std::uint32_t> ids(m, 0);

  mtl::quant_args args;
  args.rows = rows;
  args.cols = cols;
  args.m = m;
  args.tokens = m;
  args.top_k = 1;
  args.chunks = rows * cols / 8;
  const std::size_t n_out = k.kind == gpu::kernel_kind::dequantize ? rows * cols
                            : k.kind == gpu::kernel_kind::qmv      ? rows
                                                                   : m * rows;
  std::vector<T> out(n_out);
  std::map<gpu::buffer_role, id<MTLBuffer>> data = {
      {gpu::buffer_role::packed, h.buffer(packed.data(), packed.size() * 4)},
      {gpu::buffer_role::scales, h.buffer(scales.data(), scales.size() * sizeof(S))},
      {gpu::buffer_role::biases, h.buffer(biases.data(), biases.size() * sizeof(S))},
      {gpu::buffer_role::x, h.buffer(x.data(), x.size() * sizeof(T))},
      {gpu::buffer_role::ids, h.buffer(ids.data(), ids.size() * 4)}};
  id<MTLBuffer> y = h.buffer(out.data(), out.size() * sizeof(T));
  data[gpu::buffer_role::y] = y;
  data[gpu::buffer_role::out] = y;
  h.run(v, data, args);
  std::memcpy(out.data(), y.contents, out.size() * sizeof(T));

  std::vector<float> ref(n_out);
  std::vector<T> ref_t(n_out);
  double worst = 0.0;
  if (k.kind == gpu::kernel_kind::dequantize) {
    lowbit::reference::dequantize(q, ref_t.data());
    for (std::size_t i = 0; i < n_out; ++i) worst = std::max(worst, double(std::memcmp(&out[i], &ref_t[i], sizeof(T)) != 0));
  } else {
    if (k.kind == gpu::kernel_kind::qmv) lowbit::reference::qmv(q, x.data(), ref.data());
    if (k.kind == gpu::kernel_kind::qmm) lowbit::reference::qmm(q, x.data(), m, ref.data());
    if (k.kind == gpu::kernel_kind::gather_qmv) lowbit::reference::gather_qmv(q, x.data(), m, ids.data(), 1, ref.data());
    for (std::size_t i = 0; i < n_out; ++i)
      worst = std::max(worst, std::fabs(lowbit::to_float(out[i]) - ref[i]) / (1.0 + std::fabs(ref[i])));
  }
  const bool ok = k.kind == gpu::kernel_kind::dequantize ? worst == 0.0 : worst < (sizeof(T) == 4 ? 1e-4 : 1e-2);
  std::printf("%-32.*s %s (worst %.3g)\n", int(v.name.size()), v.name.data(), ok ? "OK" : "FAIL", worst);
  return ok;
}

bool check_variant(host& h, std::size_t i) {
  const auto& v = mtl::variants[i];
  const auto& k = mtl::keys[i];
  if (!gpu::is_quant(k.kind) || k.dtype == gpu::element::bf16) return true;  // LUT/bf16: see tests/metal_emulation
  const bool affine = k.mode == lowbit::quant_mode::affine;
  if (k.dtype == gpu::element::f32) return affine ? check<float, float>(h, v, k) : check<float, std::uint8_t>(h, v, k);
  return affine ? check<lowbit::f16, lowbit::f16>(h, v, k) : check<lowbit::f16, std::uint8_t>(h, v, k);
}

}  // namespace

int main(int argc, char** argv) {
  @autoreleasepool {
    host h;
    if (!h.device) {
      std::fprintf(stderr, "no Metal device\n");
      return 77;  // "skipped": some CI virtual machines have no GPU
    }
    std::vector<std::string> names;
    bool all = false;
    for (int i = 1; i < argc; ++i) {
      if (std::string(argv[i]) == "--all") {
        all = true;
      } else {
        names.emplace_back(argv[i]);
      }
    }
    if (names.empty() && !all)
      names = {"dequantize_affine_b4_g64_f16", "qmv_affine_b4_g64_f16", "qmv_affine_b3_g32_f32", "qmv_mxfp4_f16",
               "gather_qmv_nvfp4_f32", "qmm_affine_b4_g64_f32", "qmm_mxfp8_f16"};
    int failed = 0;
    for (std::size_t i = 0; i < mtl::variants.size(); ++i) {
      const std::string n(mtl::variants[i].name);
      if (all || std::find(names.begin(), names.end(), n) != names.end()) failed += !check_variant(h, i);
    }
    std::printf("%s\n", failed ? "FAILED" : "ALL OK");
    return failed ? 1 : 0;
  }
}
