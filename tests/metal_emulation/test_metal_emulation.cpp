// Every Metal manifest variant, executed through the emulation on awkward
// shapes (rows not a multiple of the 8- or 32-row blocks, cols a few groups,
// not a multiple of the 512-value qmv step, m not a multiple of the qmm tile,
// nvfp4 with a partial K tile) and compared with lowbit's CPU reference:
// dequantize bit-exact, matmuls within 1e-5 of sum |w*x| plus the output
// dtype's rounding. Threads of a threadgroup run in a shuffled order.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "emu_host.hpp"
#include "lowbit/kernels/reference.hpp"
#include "lowbit/lowbit.hpp"

namespace {

namespace gpu = lowbit::gpu;
namespace mtl = lowbit::gpu::metal;
using gpu::buffer_role;
using lowbit_test::metal_emu::launch_options;
using lowbit_test::metal_emu::library;
using lowbit_test::metal_emu::run_variant;

const library& lib() {
  static const library l(LOWBIT_METAL_EMU_LIB);
  return l;
}

template <class T>
struct tag {
  using type = T;
};
template <class F>
void with_dtype(gpu::element e, F&& f) {
  if (e == gpu::element::f32) f(tag<float>{});
  if (e == gpu::element::f16) f(tag<lowbit::f16>{});
  if (e == gpu::element::bf16) f(tag<lowbit::bf16>{});
}
/// Relative rounding of one output in the dtype.
double dtype_eps(gpu::element e) {
  return e == gpu::element::f32 ? 0.0 : e == gpu::element::f16 ? 0x1p-11 : 0x1p-8;
}

template <class T>
std::vector<T> random_values(std::size_t n, std::mt19937& rng, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<T> v(n);
  for (auto& x : v) x = lowbit::from_float<T>(d(rng));
  return v;
}

/// A random quantized stack for a variant's format; S = T (affine) or uint8_t (fp modes).
template <class T, class S>
struct quantized {
  lowbit::quant_format f;
  std::size_t experts, rows, cols;
  float global_scale;
  std::vector<std::uint32_t> packed;
  std::vector<S> scales, biases;

  quantized(const mtl::variant_key& k, std::size_t e, std::size_t r, std::size_t c, std::mt19937& rng)
      : f{k.mode, k.bits, k.group_size},
        experts(e),
        rows(r),
        cols(c),
        global_scale(k.mode == lowbit::quant_mode::nvfp4 && k.dtype != gpu::element::f32 ? 900.0f : 0.0f) {
    const std::size_t wpr = lowbit::words_per_row(f, cols), gpr = lowbit::groups_per_row(f, cols);
    packed.resize(e * r * wpr);
    scales.resize(e * r * gpr);
    if (k.mode == lowbit::quant_mode::affine) biases.resize(e * r * gpr);
    for (std::size_t i = 0; i < e; ++i) {
      // Rows of different magnitude so groups get different scales.
      std::vector<float> w = random_values<float>(r * c, rng, 1.0f);
      for (std::size_t j = 0; j < w.size(); ++j) w[j] *= 0.25f + static_cast<float>((j / c) % 5);
      lowbit::quantize<float, S>(f, w.data(), r, c, packed.data() + i * r * wpr, scales.data() + i * r * gpr,
                                 biases.empty() ? nullptr : biases.data() + i * r * gpr, global_scale);
    }
  }
  lowbit::qmatrix<S> view() const {
    return {packed.data(), scales.data(), biases.empty() ? nullptr : biases.data(), rows, cols, f,
            experts,       global_scale};
  }
  mtl::quant_args args() const {
    mtl::quant_args a;
    a.rows = static_cast<std::uint32_t>(rows);
    a.cols = static_cast<std::uint32_t>(cols);
    a.experts = static_cast<std::uint32_t>(experts);
    a.global_scale = global_scale;
    return a;
  }
};

/// Affine weights as real numbers, q*scale + bias (what the qmv trick
/// computes with); the reference rounds them to the scales dtype instead.
template <class S>
std::vector<double> exact_weights(const lowbit::qmatrix<S>& w) {
  std::vector<double> out(w.experts * w.rows * w.cols);
  const std::size_t wpr = lowbit::words_per_row(w.format, w.cols),
                    gpr = lowbit::groups_per_row(w.format, w.cols);
  for (std::size_t r = 0; r < w.experts * w.rows; ++r)
    for (std::size_t c = 0; c < w.cols; ++c) {
      const std::size_t g = r * gpr + c / static_cast<std::size_t>(w.format.group_size);
      out[r * w.cols + c] = lowbit::extract_code(w.packed + r * wpr, c, w.format.bits) *
                                static_cast<double>(lowbit::to_float(w.scales[g])) +
                            static_cast<double>(lowbit::to_float(w.biases[g]));
    }
  return out;
}

/// y (n outputs of dtype T) against yref. Tolerance: 1e-5 of sum |w x|, the
/// output's rounding, and, when `unrounded` (qmv's pre-scaled-x trick on
/// affine 16-bit weights), the exact effect sum |w_ref - w_exact| |x| of the
/// reference rounding each weight to the scales dtype.
template <class T, class S, class X>
void check_matmul(const std::string& name, const lowbit::qmatrix<S>& w, const std::vector<X>& x,
                  std::size_t m, const std::vector<std::uint32_t>* expert_of_row, const std::vector<T>& y,
                  const std::vector<float>& yref, gpu::element dtype, bool unrounded) {
  std::vector<float> dense(w.experts * w.rows * w.cols);
  lowbit::reference::dequantize(w, dense.data());
  std::vector<double> exact;
  if constexpr (!std::is_same_v<S, std::uint8_t>) {
    if (unrounded) exact = exact_weights(w);
  }
  std::size_t bad = 0;
  double worst = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const std::size_t t = i / w.rows, r = i % w.rows;
    const std::size_t e = expert_of_row ? (*expert_of_row)[t] : 0;
    const std::size_t xt = expert_of_row ? t / (y.size() / w.rows / m) : t;
    double mag = 0.0, rounding = 0.0;
    for (std::size_t c = 0; c < w.cols; ++c) {
      const std::size_t wi = (e * w.rows + r) * w.cols + c;
      const double xc = std::fabs(lowbit::to_float(x[xt * w.cols + c]));
      mag += std::fabs(dense[wi]) * xc;
      if (!exact.empty()) rounding += std::fabs(dense[wi] - exact[wi]) * xc;
    }
    const double got = lowbit::to_float(y[i]), want = yref[i];
    const double tol = 1e-5 * mag + rounding + dtype_eps(dtype) * (std::fabs(want) + rounding) + 1e-30;
    if (!(std::fabs(got - want) <= tol)) {
      if (bad++ == 0)
        MESSAGE(name << ": y[" << i << "] = " << got << ", reference " << want << " (tol " << tol << ")");
    }
    worst = std::max(worst, std::fabs(got - want) / (mag + 1e-30));
  }
  CHECK_MESSAGE(bad == 0,
                name << ": " << bad << " of " << y.size() << " outputs wrong; worst |err|/sum|wx| " << worst);
}

struct tally {
  std::set<std::string> ran;
};
tally& executed() {
  static tally t;
  return t;
}

template <class T, class S>
void test_quant_variant(const gpu::kernel_variant& v, const mtl::variant_key& k, std::uint64_t seed) {
  std::mt19937 rng(static_cast<std::uint32_t>(seed));
  const std::size_t gs = static_cast<std::size_t>(k.group_size);
  const std::string name(v.name);
  const launch_options opt{LOWBIT_EMU_SHUFFLED, seed, mtl::simd_width, 0};
  switch (k.kind) {
    case gpu::kernel_kind::dequantize: {
      quantized<T, S> q(k, 2, 3, 3 * gs, rng);
      auto args = q.args();
      args.chunks = static_cast<std::uint32_t>(q.experts * q.rows * q.cols / 8);
      std::vector<T> out(q.experts * q.rows * q.cols, lowbit::from_float<T>(-7.0f)), ref(out.size());
      lowbit::reference::dequantize(q.view(), ref.data());
      run_variant(lib(), v,
                  {{buffer_role::packed, q.packed.data()},
                   {buffer_role::scales, q.scales.data()},
                   {buffer_role::biases, q.biases.data()},
                   {buffer_role::out, out.data()}},
                  args, opt);
      std::size_t bad = 0;
      for (std::size_t i = 0; i < out.size(); ++i)
        if (std::memcmp(&out[i], &ref[i], sizeof(T)) != 0 && bad++ == 0)
          MESSAGE(name << ": out[" << i << "] = " << lowbit::to_float(out[i]) << ", reference "
                       << lowbit::to_float(ref[i]));
      CHECK_MESSAGE(bad == 0, name << ": " << bad << " values differ from the reference bits");
      break;
    }
    case gpu::kernel_kind::qmv: {
      for (std::size_t cols : {gs, 5 * gs, 34 * gs}) {  // 34 groups: several 512-value steps and a tail
        quantized<T, S> q(k, 1, cols > 5 * gs ? 13 : 37, cols, rng);
        const std::vector<T> x = random_values<T>(cols, rng, 1.0f);
        std::vector<T> y(q.rows, lowbit::from_float<T>(-7.0f));
        std::vector<float> yref(q.rows);
        lowbit::reference::qmv(q.view(), x.data(), yref.data());
        run_variant(lib(), v,
                    {{buffer_role::packed, q.packed.data()},
                     {buffer_role::scales, q.scales.data()},
                     {buffer_role::biases, q.biases.data()},
                     {buffer_role::x, x.data()},
                     {buffer_role::y, y.data()}},
                    q.args(), opt);
        check_matmul(name, q.view(), x, 1, nullptr, y, yref, k.dtype, true);
      }
      break;
    }
    case gpu::kernel_kind::gather_qmv: {
      quantized<T, S> q(k, 3, 19, 3 * gs, rng);
      const std::size_t tokens = 3, top_k = 2;
      const std::vector<std::uint32_t> ids = {2, 0, 1, 1, 0, 2};
      const std::vector<T> x = random_values<T>(tokens * q.cols, rng, 1.0f);
      std::vector<T> y(tokens * top_k * q.rows, lowbit::from_float<T>(-7.0f));
      std::vector<float> yref(y.size());
      lowbit::reference::gather_qmv(q.view(), x.data(), tokens, ids.data(), top_k, yref.data());
      auto args = q.args();
      args.tokens = static_cast<std::uint32_t>(tokens);
      args.top_k = static_cast<std::uint32_t>(top_k);
      run_variant(lib(), v,
                  {{buffer_role::packed, q.packed.data()},
                   {buffer_role::scales, q.scales.data()},
                   {buffer_role::biases, q.biases.data()},
                   {buffer_role::x, x.data()},
                   {buffer_role::y, y.data()},
                   {buffer_role::ids, ids.data()}},
                  args, opt);
      check_matmul(name, q.view(), x, tokens, &ids, y, yref, k.dtype, true);
      break;
    }
    case gpu::kernel_kind::qmm: {
      const std::size_t cols =
          k.mode == lowbit::quant_mode::nvfp4 ? 3 * gs : 2 * gs;  // nvfp4: 48, a partial K tile
      quantized<T, S> q(k, 1, 37, cols, rng);
      const std::size_t m = 33;
      const std::vector<T> x = random_values<T>(m * q.cols, rng, 1.0f);
      std::vector<T> y(m * q.rows, lowbit::from_float<T>(-7.0f)), y2(y.size());
      std::vector<float> yref(y.size());
      lowbit::reference::qmm(q.view(), x.data(), m, yref.data());
      auto args = q.args();
      args.m = static_cast<std::uint32_t>(m);
      for (auto* out : {&y, &y2}) {
        launch_options o = opt;
        if (out == &y2) o.order = LOWBIT_EMU_REVERSE;  // a correct kernel is order-independent, bit for bit
        run_variant(lib(), v,
                    {{buffer_role::packed, q.packed.data()},
                     {buffer_role::scales, q.scales.data()},
                     {buffer_role::biases, q.biases.data()},
                     {buffer_role::x, x.data()},
                     {buffer_role::y, out->data()}},
                    args, o);
      }
      CHECK_MESSAGE(std::memcmp(y.data(), y2.data(), y.size() * sizeof(T)) == 0,
                    name << ": result depends on the thread order");
      check_matmul(name, q.view(), x, m, nullptr, y, yref, k.dtype, false);
      break;
    }
    default:
      FAIL("unexpected kind in " << name);
  }
  executed().ran.insert(name);
}

}  // namespace

TEST_CASE("every registered emulated kernel is a manifest variant and vice versa") {
  std::set<std::string> registered;
  for (const std::string& n : lib().kernel_names())
    CHECK_MESSAGE(registered.insert(n).second, "duplicate " << n);
  std::set<std::string> manifest;
  for (const gpu::kernel_variant& v : mtl::variants) {
    manifest.insert(std::string(v.entry));
    CHECK_MESSAGE(registered.count(std::string(v.entry)) == 1,
                  "manifest entry " << v.entry << " not in the MSL");
  }
  for (const std::string& n : registered)
    CHECK_MESSAGE(manifest.count(n) == 1, "MSL kernel " << n << " not in the manifest");
  CHECK(manifest.size() == 300);
}

TEST_CASE("quantized variants match the CPU reference") {
  std::size_t n = 0;
  for (std::size_t i = 0; i < mtl::variants.size(); ++i) {
    const auto& v = mtl::variants[i];
    const auto& k = mtl::keys[i];
    if (!lowbit::gpu::is_quant(k.kind)) continue;
    INFO(v.name);
    with_dtype(k.dtype, [&](auto t) {
      using T = typename decltype(t)::type;
      if (k.mode == lowbit::quant_mode::affine)
        test_quant_variant<T, T>(v, k, 1000 + i);
      else
        test_quant_variant<T, std::uint8_t>(v, k, 1000 + i);
    });
    ++n;
  }
  CHECK(n == 252);
}

namespace {

/// LUT reference: a plain scalar loop over the format's definition (index bit
/// stream LSB-first over row-major [rows, cols]; LUT r / group_size).
std::uint32_t lut_index(const std::vector<std::uint8_t>& stream, std::size_t i, int bits) {
  std::uint32_t v = 0;
  for (int b = 0; b < bits; ++b) {
    const std::size_t bit = i * static_cast<std::size_t>(bits) + static_cast<std::size_t>(b);
    v |= static_cast<std::uint32_t>((stream[bit / 8] >> (bit % 8)) & 1u) << b;
  }
  return v;
}

template <class T>
void test_lut_variant(const gpu::kernel_variant& v, const mtl::variant_key& k, std::uint64_t seed) {
  std::mt19937 rng(static_cast<std::uint32_t>(seed));
  const std::string name(v.name);
  const int bits = k.bits;
  const std::size_t entries = std::size_t{1} << bits;
  // Odd cols so rows start mid-byte; group_size 4 and 0 (one LUT).
  for (std::size_t group_size : {std::size_t{4}, std::size_t{0}}) {
    const std::size_t rows = 20, cols = k.kind == gpu::kernel_kind::lut_qmv ? 301 : 37;
    const std::size_t groups = group_size ? rows / group_size : 1;
    std::vector<std::uint8_t> indices((rows * cols * static_cast<std::size_t>(bits) + 7) / 8);
    for (auto& b : indices) b = static_cast<std::uint8_t>(rng());
    const std::vector<T> lut = random_values<T>(groups * entries, rng, 1.0f);
    mtl::lut_args args;
    args.rows = static_cast<std::uint32_t>(rows);
    args.cols = static_cast<std::uint32_t>(cols);
    args.group_size = static_cast<std::uint32_t>(group_size);
    args.chunks = static_cast<std::uint32_t>((rows * cols + 7) / 8);
    auto weight = [&](std::size_t r, std::size_t c) {
      return lut[(group_size ? r / group_size : 0) * entries + lut_index(indices, r * cols + c, bits)];
    };
    const launch_options opt{LOWBIT_EMU_SHUFFLED, seed, mtl::simd_width, 0};
    if (k.kind == gpu::kernel_kind::lut_dequantize) {
      std::vector<T> out(rows * cols, lowbit::from_float<T>(-7.0f));
      run_variant(lib(), v,
                  {{buffer_role::indices, indices.data()},
                   {buffer_role::lut, lut.data()},
                   {buffer_role::out, out.data()}},
                  args, opt);
      std::size_t bad = 0;
      for (std::size_t i = 0; i < out.size(); ++i) {
        const T want = weight(i / cols, i % cols);
        bad += std::memcmp(&out[i], &want, sizeof(T)) != 0;
      }
      CHECK_MESSAGE(bad == 0, name << " (group " << group_size << "): " << bad << " values differ");
    } else {
      const std::vector<T> x = random_values<T>(cols, rng, 1.0f);
      std::vector<T> y(rows, lowbit::from_float<T>(-7.0f));
      run_variant(lib(), v,
                  {{buffer_role::indices, indices.data()},
                   {buffer_role::lut, lut.data()},
                   {buffer_role::x, x.data()},
                   {buffer_role::y, y.data()}},
                  args, opt);
      std::size_t bad = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        double want = 0.0, mag = 0.0;
        for (std::size_t c = 0; c < cols; ++c) {
          const double p = static_cast<double>(lowbit::to_float(weight(r, c))) * lowbit::to_float(x[c]);
          want += p;
          mag += std::fabs(p);
        }
        const double got = lowbit::to_float(y[r]);
        bad += !(std::fabs(got - want) <= 1e-5 * mag + dtype_eps(k.dtype) * std::fabs(want) + 1e-30);
      }
      CHECK_MESSAGE(bad == 0, name << " (group " << group_size << "): " << bad << " outputs wrong");
    }
  }
  executed().ran.insert(name);
}

}  // namespace

TEST_CASE("LUT variants match a scalar reference") {
  std::size_t n = 0;
  for (std::size_t i = 0; i < mtl::variants.size(); ++i) {
    const auto& k = mtl::keys[i];
    if (lowbit::gpu::is_quant(k.kind)) continue;
    INFO(mtl::variants[i].name);
    with_dtype(k.dtype,
               [&](auto t) { test_lut_variant<typename decltype(t)::type>(mtl::variants[i], k, 5000 + i); });
    ++n;
  }
  CHECK(n == 48);
}

TEST_CASE("every manifest variant was executed") {
  // doctest runs test cases in file order; this one comes last.
  CHECK(executed().ran.size() == mtl::variants.size());
}
