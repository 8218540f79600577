// Helpers for the Vulkan kernel tests: test data, buffers, comparisons, a
// SPIR-V cache shared by the two lavapipe runs, and the capability check.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "lowbit/gpu/vulkan/glsl_source.hpp"
#include "lowbit/lowbit.hpp"
#include "lowbit_vk.hpp"

namespace lowbit_vk_test {

inline bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

template <class T>
std::vector<T> random_vector(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<T> v(n);
  for (auto& e : v) e = lowbit::from_float<T>(nd(rng));
  return v;
}

/// A quantized expert stack with model dtype T (scales in T for affine,
/// bytes for the fp modes).
template <class T>
struct quantized {
  lowbit::quant_format fmt;
  std::size_t rows = 0, cols = 0, experts = 1;
  float global_scale = 0.0f;
  std::vector<std::uint32_t> packed;
  std::vector<T> scales, biases;
  std::vector<std::uint8_t> scales_u8;

  template <class S>
  lowbit::qmatrix<S> view() const {
    if constexpr (std::is_same_v<S, std::uint8_t>)
      return {packed.data(), scales_u8.data(), nullptr, rows, cols, fmt, experts, global_scale};
    else
      return {packed.data(), scales.data(), biases.data(), rows, cols, fmt, experts, 0.0f};
  }
};

template <class T>
quantized<T> make_quantized(const lowbit::quant_format& f, std::size_t rows, std::size_t cols,
                            std::size_t experts, float global_scale, unsigned seed) {
  quantized<T> q;
  q.fmt = f;
  q.rows = rows;
  q.cols = cols;
  q.experts = experts;
  q.global_scale = global_scale;
  const std::size_t words = rows * cols * static_cast<std::size_t>(f.bits) / 32,
                    groups = rows * cols / f.group_size;
  q.packed.resize(words * experts);
  const bool fp = f.mode != lowbit::quant_mode::affine;
  if (fp)
    q.scales_u8.resize(groups * experts);
  else
    q.scales.resize(groups * experts), q.biases.resize(groups * experts);
  for (std::size_t e = 0; e < experts; ++e) {
    std::vector<T> w = random_vector<T>(rows * cols, seed + static_cast<unsigned>(e) * 7919u);
    // A few groups with an offset, so affine biases are not all near zero.
    for (std::size_t i = 0; i < w.size(); i += 3 * static_cast<std::size_t>(f.group_size))
      w[i] = lowbit::from_float<T>(lowbit::to_float(w[i]) + 3.0f);
    if (fp)
      lowbit::quantize(f, w.data(), rows, cols, q.packed.data() + e * words, q.scales_u8.data() + e * groups,
                       static_cast<std::uint8_t*>(nullptr), global_scale);
    else
      lowbit::quantize(f, w.data(), rows, cols, q.packed.data() + e * words, q.scales.data() + e * groups,
                       q.biases.data() + e * groups);
  }
  return q;
}

/// Owns the buffers of one dispatch; inputs are uploaded, outputs are filled
/// with 0xff bytes (NaN in every float type) so unwritten elements show.
class gpu_buffers {
 public:
  explicit gpu_buffers(lowbit_vk::context& c) : ctx_(c) {}
  ~gpu_buffers() {
    for (auto& b : bufs_) ctx_.destroy(b);
  }
  gpu_buffers(const gpu_buffers&) = delete;
  gpu_buffers& operator=(const gpu_buffers&) = delete;
  template <class E>
  lowbit_vk::buffer& add(const std::vector<E>& v) {
    bufs_.push_back(ctx_.make_buffer(v.size() * sizeof(E)));
    ctx_.upload(bufs_.back(), v.data(), v.size() * sizeof(E));
    return bufs_.back();
  }
  lowbit_vk::buffer& out(std::size_t bytes) {
    bufs_.push_back(ctx_.make_buffer(bytes));
    std::vector<unsigned char> fill(bufs_.back().size, 0xff);
    ctx_.upload(bufs_.back(), fill.data(), fill.size());
    return bufs_.back();
  }

 private:
  lowbit_vk::context& ctx_;
  std::deque<lowbit_vk::buffer> bufs_;  // stable references
};

template <class T>
std::string compare_exact(const std::vector<T>& ref, const std::vector<T>& got) {
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < ref.size(); ++i)
    if (std::memcmp(&ref[i], &got[i], sizeof(T)) != 0 && bad++ == 0) first = i;
  if (bad == 0) return "";
  std::ostringstream os;
  os << bad << " of " << ref.size() << " values differ; first at " << first << ": expected "
     << lowbit::to_float(ref[first]) << ", got " << lowbit::to_float(got[first]);
  return os.str();
}

inline double as_double(double v) { return v; }
template <class T>
double as_double(T v) {
  return static_cast<double>(lowbit::to_float(v));
}

/// |got - ref| <= rel * mag + one rounding of the output type T.
template <class R, class T>
std::string compare_close(const std::vector<R>& ref, const std::vector<T>& got,
                          const std::vector<double>& mag, double rel) {
  const double ulp = std::is_same_v<T, float> ? 0.0 : std::is_same_v<T, lowbit::f16> ? 1.0 / 1024 : 1.0 / 128;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double r = as_double(ref[i]), g = as_double(got[i]);
    const double tol = rel * mag[i] + ulp * std::fabs(r) + 1e-30;
    if (!(std::fabs(g - r) <= tol)) {
      std::ostringstream os;
      os << "output " << i << ": expected " << r << ", got " << g << " (tolerance " << tol << ")";
      return os.str();
    }
  }
  return "";
}

/// W in f32 the way the GPU matmuls use it, computed here independently:
/// affine s*q + b in f32 without rounding to the scales dtype (MLX's Metal
/// qmv does the same: scale * sum(q x) + bias * sum(x) in float); fp modes
/// elem * scale (lowbit's reference, whose f32 path is exactly that).
template <class S>
std::vector<float> float_weights(const lowbit::qmatrix<S>& w) {
  std::vector<float> d(w.experts * w.rows * w.cols);
  if constexpr (std::is_same_v<S, std::uint8_t>) {
    lowbit::reference::dequantize(w, d.data());
  } else {
    const std::size_t wpr = w.cols * static_cast<std::size_t>(w.format.bits) / 32;
    const std::size_t gpr = w.cols / static_cast<std::size_t>(w.format.group_size);
    for (std::size_t r = 0; r < w.experts * w.rows; ++r)
      for (std::size_t c = 0; c < w.cols; ++c) {
        const std::size_t g = r * gpr + c / static_cast<std::size_t>(w.format.group_size);
        const auto q = static_cast<float>(lowbit::extract_code(w.packed + r * wpr, c, w.format.bits));
        d[r * w.cols + c] = lowbit::to_float(w.scales[g]) * q + lowbit::to_float(w.biases[g]);
      }
  }
  return d;
}

/// y[s][r] = W[expert(s)][r] . x[row(s)] in double and sum |w x| per output:
/// plain matmul (ids empty, m rows of x) or gather (slot s uses ids[s], x row s / m).
struct matmul_ref {
  std::vector<double> y, mag;
};
template <class T>
matmul_ref reference_matmul(const std::vector<float>& dense, std::size_t rows, std::size_t cols,
                            const std::vector<T>& x, const std::vector<std::uint32_t>& ids, std::size_t m) {
  const std::size_t slots = ids.empty() ? m : ids.size();
  matmul_ref out{std::vector<double>(slots * rows), std::vector<double>(slots * rows)};
  for (std::size_t s = 0; s < slots; ++s) {
    const std::size_t e = ids.empty() ? 0 : ids[s];
    const std::size_t xr = ids.empty() ? s : s / m;
    for (std::size_t r = 0; r < rows; ++r) {
      double acc = 0, a = 0;
      for (std::size_t c = 0; c < cols; ++c) {
        const double p = double(dense[(e * rows + r) * cols + c]) * lowbit::to_float(x[xr * cols + c]);
        acc += p;
        a += std::fabs(p);
      }
      out.y[s * rows + r] = acc;
      out.mag[s * rows + r] = a;
    }
  }
  return out;
}

/// A palettized matrix built independently of lowbit's LUT code: random
/// indices packed LSB-first over row-major [rows, cols], random tables.
template <class T>
struct lut_case {
  std::vector<std::uint8_t> stream;  // padded to whole uint32 words
  std::vector<T> lut, dense;
};

template <class T>
lut_case<T> make_lut_case(int bits, std::size_t rows, std::size_t cols, std::size_t group, unsigned seed) {
  lut_case<T> c;
  const std::size_t entries = std::size_t{1} << bits, tables = group ? rows / group : 1;
  c.lut = random_vector<T>(tables * entries, seed);
  std::mt19937 rng(seed + 1);
  const std::size_t n = rows * cols;
  c.stream.assign((n * static_cast<std::size_t>(bits) + 31) / 32 * 4, 0);
  c.dense.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t idx = rng() % entries;
    for (int b = 0; b < bits; ++b) {
      const std::size_t t = i * static_cast<std::size_t>(bits) + static_cast<std::size_t>(b);
      if ((idx >> b) & 1u) c.stream[t / 8] = static_cast<std::uint8_t>(c.stream[t / 8] | (1u << (t % 8)));
    }
    const std::size_t table = group ? (i / cols) / group : 0;
    c.dense[i] = c.lut[table * entries + idx];
  }
  return c;
}

/// SPIR-V of a variant, cached on disk under $LOWBIT_VK_SPV_CACHE (keyed by
/// the variant name and a hash of its full source) so the second lavapipe
/// run does not recompile. Written through a rename: safe under ctest -j.
inline std::vector<std::uint32_t> cached_spirv(const lowbit::gpu::kernel_variant& v) {
  const char* dir = std::getenv("LOWBIT_VK_SPV_CACHE");
  if (!dir || !*dir) return lowbit_vk::compile_glsl(v);
  std::string src = lowbit::gpu::vulkan::glsl_source(v);
  const char* no_opt = std::getenv("LOWBIT_VK_NO_OPT");  // compile_glsl's switch is part of the key
  src += (no_opt && *no_opt && *no_opt != '0') ? "O0" : "O";
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : src) h = (h ^ ch) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  const std::filesystem::path path = std::filesystem::path(dir) / (std::string(v.name) + "-" + hex + ".spv");
  if (std::ifstream in{path, std::ios::binary}) {
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() % 4 == 0 && !bytes.empty()) {
      std::vector<std::uint32_t> words(bytes.size() / 4);
      std::memcpy(words.data(), bytes.data(), bytes.size());
      return words;
    }
  }
  std::vector<std::uint32_t> words = lowbit_vk::compile_glsl(v);
  std::filesystem::create_directories(dir);
  const std::filesystem::path tmp = path.string() + ".tmp" + std::to_string(std::rand());
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(words.data()), static_cast<std::streamsize>(words.size() * 4));
  }
  std::filesystem::rename(tmp, path);
  return words;
}

/// Compares the capabilities the SPIR-V declares with the manifest's feature
/// bits, both ways, so the manifest cannot under- or over-state what a
/// variant needs. Returns "" when they agree.
inline std::string capability_mismatch(const lowbit::gpu::kernel_variant& v,
                                       const std::vector<std::uint32_t>& caps) {
  using namespace lowbit::gpu;
  auto has = [&](std::uint32_t c) { return std::find(caps.begin(), caps.end(), c) != caps.end(); };
  std::string err;
  auto expect = [&](bool in_spirv, bool in_manifest, const char* what) {
    if (in_spirv != in_manifest)
      err += std::string(what) +
             (in_spirv ? " used but not in the manifest; " : " in the manifest but unused; ");
  };
  expect(has(4433), (v.features & feature_storage_16bit) != 0, "StorageBuffer16BitAccess");
  expect(has(4448), (v.features & feature_storage_8bit) != 0, "StorageBuffer8BitAccess");
  expect(has(63), (v.features & feature_subgroup_arithmetic) != 0, "GroupNonUniformArithmetic");
  expect(has(9), (v.features & feature_shader_float16) != 0, "Float16");
  for (std::uint32_t c : {22u /*Int16*/, 39u /*Int8*/, 11u /*Int64*/, 10u /*Float64*/})
    if (has(c)) err += "unexpected capability " + std::to_string(c) + "; ";
  return err;
}

}  // namespace lowbit_vk_test
