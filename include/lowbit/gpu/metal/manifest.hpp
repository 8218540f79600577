// The Metal (MSL) kernel manifest: every variant lowbit ships, as constexpr
// data a host walks to JIT-compile (newLibraryWithSource on `source`,
// newFunctionWithName on `entry`) and dispatch the embedded kernels.
// Names equal the [[host_name]]s of the instantiation lists and the Vulkan
// names of the same kernels:
//   dequantize_<fmt>_<dtype>, qmv_<fmt>_<dtype>, gather_qmv_<fmt>_<dtype>,
//   qmm_<fmt>_<dtype>, lut_dequantize_b<n>_<dtype>, lut_qmv_b<n>_<dtype>
// with <fmt> = affine_b<bits>_g<group> | mxfp4 | mxfp8 | nvfp4 and <dtype> the
// model dtype (affine scales/biases, activations, outputs, LUT entries).
// Buffer indices are fixed by role: 0 packed/indices, 1 scales/lut, 2 biases,
// 3 x, 4 y/out, 5 ids, 6 the `constant` argument struct (setBytes).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lowbit/format/quant_format.hpp"
#include "lowbit/gpu/manifest.hpp"
#include "lowbit/gpu/metal/sources.hpp"

namespace lowbit::gpu::metal {

/// C++ twin of MSL `lowbit_quant_args` (common.metal) for the quantized kernels.
struct quant_args {
  std::uint32_t rows = 0;     // output features per expert
  std::uint32_t cols = 0;     // input features
  std::uint32_t m = 0;        // qmm: rows of x
  std::uint32_t tokens = 0;   // gather_qmv
  std::uint32_t top_k = 0;    // gather_qmv
  std::uint32_t experts = 1;  // matrices in the stack
  std::uint32_t chunks = 0;   // dequantize: experts*rows*cols/8
  float global_scale = 0.0f;  // nvfp4 only; 0 = none
};

/// C++ twin of MSL `lowbit_lut_args` for the LUT kernels.
struct lut_args {
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;
  std::uint32_t group_size = 0;  // output rows per LUT; 0 = one LUT
  std::uint32_t chunks = 0;      // lut_dequantize: ceil(rows*cols/8)
};

inline constexpr std::array<param_field, 8> quant_args_fields = {{
    {"rows", element::u32, 0},
    {"cols", element::u32, 4},
    {"m", element::u32, 8},
    {"tokens", element::u32, 12},
    {"top_k", element::u32, 16},
    {"experts", element::u32, 20},
    {"chunks", element::u32, 24},
    {"global_scale", element::f32, 28},
}};
static_assert(offsetof(quant_args, rows) == 0 && offsetof(quant_args, cols) == 4 &&
                  offsetof(quant_args, m) == 8 && offsetof(quant_args, tokens) == 12 &&
                  offsetof(quant_args, top_k) == 16 && offsetof(quant_args, experts) == 20 &&
                  offsetof(quant_args, chunks) == 24 && offsetof(quant_args, global_scale) == 28 &&
                  sizeof(quant_args) == 32,
              "quant_args must match quant_args_fields and lowbit_quant_args in common.metal");

inline constexpr std::array<param_field, 4> lut_args_fields = {{
    {"rows", element::u32, 0},
    {"cols", element::u32, 4},
    {"group_size", element::u32, 8},
    {"chunks", element::u32, 12},
}};
static_assert(offsetof(lut_args, rows) == 0 && offsetof(lut_args, cols) == 4 &&
                  offsetof(lut_args, group_size) == 8 && offsetof(lut_args, chunks) == 12 &&
                  sizeof(lut_args) == 16,
              "lut_args must match lut_args_fields and lowbit_lut_args in common.metal");

/// [[buffer(n)]] of the argument struct in every kernel.
inline constexpr std::uint32_t params_index = 6;
/// Every kernel assumes Apple's simdgroup width.
inline constexpr std::uint32_t simd_width = 32;

/// One axis of the grid in threadgroups: ceil(field(a) * field(b) / divisor),
/// fields of the argument struct by name (empty = 1). The machine-readable
/// form of kernel_variant::dispatch.
struct grid_axis {
  std::string_view a;
  std::string_view b;
  std::uint32_t divisor = 1;
};

/// What a variant computes, for hosts that pick variants by format.
struct variant_key {
  kernel_kind kind = kernel_kind::qmv;
  quant_mode mode = quant_mode::affine;  // quantized kinds only
  int bits = 0;                          // code bits (quantized) or index bits (LUT)
  int group_size = 0;                    // quantized kinds only
  element dtype = element::f32;
};

namespace detail {

/// A compile-time concatenation of embedded files (a program = common.metal + one kernel file).
template <const std::string_view&... Parts>
struct joined {
  static constexpr std::size_t size = (Parts.size() + ...);
  static constexpr std::array<char, size> text = [] {
    std::array<char, size> out{};
    std::size_t n = 0;
    for (std::string_view p : {Parts...})
      for (char c : p) out[n++] = c;
    return out;
  }();
  static constexpr std::string_view view{text.data(), size};
};

}  // namespace detail

/// A program is the text a host compiles into one MTLLibrary.
struct program {
  std::string_view name;
  std::string_view source;
};
inline constexpr std::array<program, 4> programs = {{
    {"dequantize", detail::joined<sources::common, sources::dequantize>::view},
    {"qmv", detail::joined<sources::common, sources::qmv>::view},  // qmv and gather_qmv
    {"qmm", detail::joined<sources::common, sources::qmm>::view},
    {"lut", detail::joined<sources::common, sources::lut>::view},
}};

namespace detail {

inline constexpr std::array<int, 6> affine_bits = {2, 3, 4, 5, 6, 8};
inline constexpr std::array<int, 3> affine_groups = {32, 64, 128};
inline constexpr std::array<element, 3> dtypes = {element::f32, element::f16, element::bf16};
inline constexpr std::size_t n_formats = affine_bits.size() * affine_groups.size() + 3;
inline constexpr std::size_t n_quant = n_formats * dtypes.size() * 4;  // dequantize, qmv, gather_qmv, qmm
inline constexpr std::size_t n_lut = 8 * dtypes.size() * 2;            // lut_dequantize, lut_qmv
inline constexpr std::size_t n_variants = n_quant + n_lut;

constexpr std::array<variant_key, n_variants> make_keys() {
  std::array<variant_key, n_variants> keys{};
  std::size_t i = 0;
  for (kernel_kind k :
       {kernel_kind::dequantize, kernel_kind::qmv, kernel_kind::gather_qmv, kernel_kind::qmm}) {
    for (element t : dtypes) {
      for (int g : affine_groups)
        for (int b : affine_bits) keys[i++] = {k, quant_mode::affine, b, g, t};
      for (quant_mode m : {quant_mode::mxfp4, quant_mode::mxfp8, quant_mode::nvfp4}) {
        const quant_format f = default_format(m);
        keys[i++] = {k, m, f.bits, f.group_size, t};
      }
    }
  }
  for (kernel_kind k : {kernel_kind::lut_dequantize, kernel_kind::lut_qmv})
    for (element t : dtypes)
      for (int b = 1; b <= 8; ++b) keys[i++] = {k, quant_mode::affine, b, 0, t};
  return keys;
}

constexpr std::string_view msl_type(element t) {
  return t == element::f32 ? "float" : t == element::f16 ? "half" : "bfloat";
}
using variant_storage = gpu::detail::variant_storage<40, 4>;

constexpr variant_storage make_storage(const variant_key& k) {
  variant_storage s;
  s.append(kernel_name(k.kind));
  if (is_quant(k.kind)) {
    s.append("_");
    s.append(to_string(k.mode));
    if (k.mode == quant_mode::affine) {
      s.append("_b");
      s.append(gpu::detail::decimal(k.bits));
      s.append("_g");
      s.append(gpu::detail::decimal(k.group_size));
    }
  } else {
    s.append("_b");
    s.append(gpu::detail::decimal(k.bits));
  }
  s.append("_");
  s.append(element_name(k.dtype));

  // The kernel template's arguments, by their MSL names.
  s.def("T", msl_type(k.dtype));
  if (is_quant(k.kind)) {
    s.def("mode", to_string(k.mode));
    s.def("group_size", gpu::detail::decimal(k.group_size));
  }
  s.def("bits", gpu::detail::decimal(k.bits));

  if (is_quant(k.kind)) {
    const bool affine = k.mode == quant_mode::affine;
    s.bind(0, buffer_role::packed, element::u32, access::read_only);
    s.bind(1, buffer_role::scales, affine ? k.dtype : element::u8, access::read_only);
    if (affine) s.bind(2, buffer_role::biases, k.dtype, access::read_only);
    if (k.kind == kernel_kind::dequantize) {
      s.bind(4, buffer_role::out, k.dtype, access::write_only);
    } else {
      s.bind(3, buffer_role::x, k.dtype, access::read_only);
      s.bind(4, buffer_role::y, k.dtype, access::write_only);
    }
    if (k.kind == kernel_kind::gather_qmv) s.bind(5, buffer_role::ids, element::u32, access::read_only);
  } else {
    s.bind(0, buffer_role::indices, element::u8, access::read_only);
    s.bind(1, buffer_role::lut, k.dtype, access::read_only);
    if (k.kind == kernel_kind::lut_qmv) {
      s.bind(3, buffer_role::x, k.dtype, access::read_only);
      s.bind(4, buffer_role::y, k.dtype, access::write_only);
    } else {
      s.bind(4, buffer_role::out, k.dtype, access::write_only);
    }
  }
  return s;
}

inline constexpr std::array<variant_key, n_variants> keys = make_keys();
inline constexpr auto storage = [] {
  std::array<variant_storage, n_variants> s{};
  for (std::size_t i = 0; i < n_variants; ++i) s[i] = make_storage(keys[i]);
  return s;
}();

constexpr std::string_view program_of(kernel_kind k) {
  switch (k) {
    case kernel_kind::dequantize:
      return programs[0].source;
    case kernel_kind::qmv:
    case kernel_kind::gather_qmv:
      return programs[1].source;
    case kernel_kind::qmm:
      return programs[2].source;
    default:
      return programs[3].source;
  }
}

constexpr std::uint32_t features_of(const variant_key& k) {
  std::uint32_t f = feature_none;
  if (k.dtype == element::f16) f |= feature_shader_float16;
  if (k.kind == kernel_kind::qmv || k.kind == kernel_kind::gather_qmv || k.kind == kernel_kind::lut_qmv)
    f |= feature_subgroup_arithmetic;
  if (k.kind == kernel_kind::qmm) f |= feature_shared_memory;
  return f;
}

constexpr kernel_variant make_variant(std::size_t i) {
  const variant_key& k = keys[i];
  const variant_storage& s = storage[i];
  kernel_variant v{};
  v.name = std::string_view(s.name.data(), s.name_len);
  v.lang = language::msl;
  v.kind = k.kind;
  v.source = program_of(k.kind);
  v.entry = v.name;  // the [[host_name]]
  v.defines = std::span<const define>(s.defines.data(), s.n_defines);
  v.bindings = std::span<const binding>(s.bindings.data(), s.n_bindings);
  const bool quant = is_quant(k.kind);
  v.params =
      quant ? std::span<const param_field>(quant_args_fields) : std::span<const param_field>(lut_args_fields);
  v.params_size = quant ? sizeof(quant_args) : sizeof(lut_args);
  v.features = features_of(k);
  switch (k.kind) {
    case kernel_kind::qmv:
    case kernel_kind::lut_qmv:
      v.workgroup = {64, 1, 1}, v.dispatch = "x = ceil(rows / 8)";
      break;
    case kernel_kind::gather_qmv:
      v.workgroup = {64, 1, 1}, v.dispatch = "x = ceil(rows / 8), y = tokens * top_k";
      break;
    case kernel_kind::qmm:
      v.workgroup = {128, 1, 1}, v.dispatch = "x = ceil(rows / 32), y = ceil(m / 32)";
      break;
    default:
      v.workgroup = {256, 1, 1}, v.dispatch = "x = ceil(chunks / 256)";
      break;
  }
  return v;
}

}  // namespace detail

/// Every Metal variant; `keys[i]` describes `variants[i]`.
inline constexpr std::array<variant_key, detail::n_variants> keys = detail::keys;
inline constexpr auto variants = [] {
  std::array<kernel_variant, detail::n_variants> v{};
  for (std::size_t i = 0; i < detail::n_variants; ++i) v[i] = detail::make_variant(i);
  return v;
}();

/// The grid (in threadgroups) of a kind, over the argument-struct fields.
constexpr std::array<grid_axis, 3> grid_of(kernel_kind k) {
  switch (k) {
    case kernel_kind::qmv:
    case kernel_kind::lut_qmv:
      return {{{"rows", "", 8}, {}, {}}};
    case kernel_kind::gather_qmv:
      return {{{"rows", "", 8}, {"tokens", "top_k", 1}, {}}};
    case kernel_kind::qmm:
      return {{{"rows", "", 32}, {"m", "", 32}, {}}};
    default:
      return {{{"chunks", "", 256}, {}, {}}};
  }
}

/// Index of the variant computing `kind` for a format and dtype, or -1.
constexpr int find_variant(kernel_kind kind, const quant_format& f, element dtype) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const variant_key& k = keys[i];
    if (k.kind == kind && k.mode == f.mode && k.bits == f.bits && k.group_size == f.group_size &&
        k.dtype == dtype)
      return static_cast<int>(i);
  }
  return -1;
}

/// Index of a LUT variant (`kind` lut_dequantize or lut_qmv), or -1.
constexpr int find_lut_variant(kernel_kind kind, int bits, element dtype) {
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (keys[i].kind == kind && keys[i].bits == bits && keys[i].dtype == dtype) return static_cast<int>(i);
  return -1;
}

/// Index of the variant with this name, or -1.
constexpr int find_variant(std::string_view name) {
  for (std::size_t i = 0; i < variants.size(); ++i)
    if (variants[i].name == name) return static_cast<int>(i);
  return -1;
}

static_assert(find_variant("qmv_affine_b4_g64_f16") >= 0 && find_variant("lut_qmv_b3_bf16") >= 0 &&
                  find_variant("gather_qmv_nvfp4_f32") >= 0,
              "variant names are the documented cache keys");

}  // namespace lowbit::gpu::metal
