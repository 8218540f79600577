// The Vulkan (GLSL) kernel manifest: every variant lowbit ships, as constexpr
// data a runtime can walk to JIT-compile and dispatch the embedded sources.
// Variant names are deterministic pipeline-cache keys:
//   dequantize_<fmt>_<dtype>, qmv_<fmt>_<dtype>[_sg], gather_qmv_<fmt>_<dtype>[_sg],
//   qmm_<fmt>_<dtype>, lut_dequantize_b<n>_<dtype>, lut_qmv_b<n>_<dtype>[_sg], copy_u32
// with <fmt> = affine_b<bits>_g<group> | mxfp4 | mxfp8 | nvfp4 and <dtype> the
// model dtype (affine scales/biases, activations, outputs; LUT table entries).
// "_sg" variants reduce with subgroupAdd and work with any subgroup width; the
// others use shared memory only. glsl_source.hpp turns a variant into
// compilable text (defines after #version, includes expanded).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lowbit/format/quant_format.hpp"
#include "lowbit/gpu/manifest.hpp"
#include "lowbit/gpu/vulkan/sources.hpp"

namespace lowbit::gpu::vulkan {

/// The push-constant block of every lowbit GLSL kernel (`Params` in
/// lowbit_common.glsl, std430). Unused fields are ignored by a kernel.
struct push_params {
  std::uint32_t rows = 0;       // output rows of one matrix
  std::uint32_t cols = 0;       // input columns
  std::uint32_t experts = 1;    // matrices in the stack
  std::uint32_t m = 0;          // qmm: rows of x; gather_qmv: tokens
  std::uint32_t top_k = 0;      // gather_qmv: slots per token
  float nv_scale = 1.0f;        // nvfp4: global_scale / 2688, 1 without a global scale
  std::uint32_t lut_group = 0;  // LUT: output rows per table, 0 = one table
  std::uint32_t count = 0;      // dequantize / lut_dequantize / copy: work items
  std::uint32_t zero = 0;       // must stay 0 (an opaque zero: see dequantize.comp)
};

inline constexpr std::array<param_field, 9> push_fields = {{
    {"rows", element::u32, 0},
    {"cols", element::u32, 4},
    {"experts", element::u32, 8},
    {"m", element::u32, 12},
    {"top_k", element::u32, 16},
    {"nv_scale", element::f32, 20},
    {"lut_group", element::u32, 24},
    {"count", element::u32, 28},
    {"zero", element::u32, 32},
}};
static_assert(offsetof(push_params, rows) == 0 && offsetof(push_params, cols) == 4 &&
                  offsetof(push_params, experts) == 8 && offsetof(push_params, m) == 12 &&
                  offsetof(push_params, top_k) == 16 && offsetof(push_params, nv_scale) == 20 &&
                  offsetof(push_params, lut_group) == 24 && offsetof(push_params, count) == 28 &&
                  offsetof(push_params, zero) == 32 && sizeof(push_params) == 36,
              "push_params must match the Params block of lowbit_common.glsl");

/// What a variant computes, for hosts that pick variants by format.
struct variant_key {
  kernel_kind kind = kernel_kind::copy;
  quant_mode mode = quant_mode::affine;  // quantized kinds only
  int bits = 0;                          // code bits (quantized) or index bits (LUT)
  int group_size = 0;                    // quantized kinds only
  element dtype = element::f32;
  bool subgroup = false;
};

namespace detail {

inline constexpr std::array<int, 6> affine_bits = {2, 3, 4, 5, 6, 8};
inline constexpr std::array<int, 3> affine_groups = {32, 64, 128};
inline constexpr std::array<element, 3> model_dtypes = {element::f32, element::f16, element::bf16};
inline constexpr std::array<element, 2> lut_dtypes = {element::f32, element::f16};
inline constexpr std::size_t n_formats = affine_bits.size() * affine_groups.size() + 3;  // + mx/nv modes
inline constexpr std::size_t n_quant =
    n_formats * model_dtypes.size() * 6;                         // 6 = deq, qmv x2, gather x2, qmm
inline constexpr std::size_t n_lut = 8 * lut_dtypes.size() * 3;  // 3 = deq, qmv x2
inline constexpr std::size_t n_variants = n_quant + n_lut + 1;   // + copy

constexpr std::array<variant_key, n_variants> make_keys() {
  std::array<variant_key, n_variants> keys{};
  std::size_t i = 0;
  std::array<quant_format, n_formats> formats{};
  std::size_t f = 0;
  for (int b : affine_bits)
    for (int g : affine_groups) formats[f++] = {quant_mode::affine, b, g};
  formats[f++] = default_format(quant_mode::mxfp4);
  formats[f++] = default_format(quant_mode::mxfp8);
  formats[f++] = default_format(quant_mode::nvfp4);
  for (const quant_format& q : formats)
    for (element t : model_dtypes) {
      auto add = [&](kernel_kind k, bool sg) { keys[i++] = {k, q.mode, q.bits, q.group_size, t, sg}; };
      add(kernel_kind::dequantize, false);
      add(kernel_kind::qmv, true);
      add(kernel_kind::qmv, false);
      add(kernel_kind::gather_qmv, true);
      add(kernel_kind::gather_qmv, false);
      add(kernel_kind::qmm, false);
    }
  for (int b = 1; b <= 8; ++b)
    for (element t : lut_dtypes) {
      keys[i++] = {kernel_kind::lut_dequantize, quant_mode::affine, b, 0, t, false};
      keys[i++] = {kernel_kind::lut_qmv, quant_mode::affine, b, 0, t, true};
      keys[i++] = {kernel_kind::lut_qmv, quant_mode::affine, b, 0, t, false};
    }
  keys[i++] = {kernel_kind::copy, quant_mode::affine, 0, 0, element::u32, false};
  return keys;
}

constexpr std::string_view dtype_code(element t) {
  return t == element::f32 ? "0" : t == element::f16 ? "1" : "2";
}
constexpr std::string_view mode_code(quant_mode m) {
  return m == quant_mode::affine ? "0" : m == quant_mode::mxfp4 ? "1" : m == quant_mode::mxfp8 ? "2" : "3";
}
using variant_storage = gpu::detail::variant_storage<48, 6>;

constexpr variant_storage make_storage(const variant_key& k) {
  variant_storage s;
  const bool quant = is_quant(k.kind);
  const bool lut = is_lut(k.kind);
  s.append(kernel_name(k.kind));
  if (quant) {
    s.append("_");
    s.append(to_string(k.mode));
    if (k.mode == quant_mode::affine) {
      s.append("_b");
      s.append(gpu::detail::decimal(k.bits));
      s.append("_g");
      s.append(gpu::detail::decimal(k.group_size));
    }
  } else if (lut) {
    s.append("_b");
    s.append(gpu::detail::decimal(k.bits));
  }
  s.append("_");
  s.append(element_name(k.dtype));
  if (k.subgroup) s.append("_sg");

  if (quant) {
    s.def("MODE", mode_code(k.mode));
    s.def("BITS", gpu::detail::decimal(k.bits));
    s.def("GROUP_SIZE", gpu::detail::decimal(k.group_size));
  } else if (lut) {
    s.def("LUT_BITS", gpu::detail::decimal(k.bits));
  }
  s.def("DTYPE", k.kind == kernel_kind::copy ? "0" : dtype_code(k.dtype));
  s.def("USE_SUBGROUP", k.subgroup ? "1" : "0");
  if (k.kind == kernel_kind::qmv || k.kind == kernel_kind::gather_qmv)
    s.def("GATHER", k.kind == kernel_kind::gather_qmv ? "1" : "0");

  const element scale_t = k.mode == quant_mode::affine ? k.dtype : element::u8;
  if (quant) {
    s.bind(0, buffer_role::packed, element::u32, access::read_only);
    s.bind(1, buffer_role::scales, scale_t, access::read_only);
    if (k.mode == quant_mode::affine) s.bind(2, buffer_role::biases, k.dtype, access::read_only);
    if (k.kind == kernel_kind::dequantize) {
      s.bind(4, buffer_role::out, k.dtype, access::write_only);
    } else {
      s.bind(3, buffer_role::x, k.dtype, access::read_only);
      s.bind(4, buffer_role::y, k.dtype, access::write_only);
    }
    if (k.kind == kernel_kind::gather_qmv) s.bind(5, buffer_role::ids, element::u32, access::read_only);
  } else if (lut) {
    s.bind(0, buffer_role::indices, element::u32, access::read_only);
    s.bind(1, buffer_role::lut, k.dtype, access::read_only);
    if (k.kind == kernel_kind::lut_qmv) {
      s.bind(3, buffer_role::x, k.dtype, access::read_only);
      s.bind(4, buffer_role::y, k.dtype, access::write_only);
    } else {
      s.bind(4, buffer_role::out, k.dtype, access::write_only);
    }
  } else {
    s.bind(0, buffer_role::src, element::u32, access::read_only);
    s.bind(1, buffer_role::dst, element::u32, access::write_only);
  }
  return s;
}

inline constexpr std::array<variant_key, n_variants> keys = make_keys();

inline constexpr auto storage = [] {
  std::array<variant_storage, n_variants> s{};
  for (std::size_t i = 0; i < n_variants; ++i) s[i] = make_storage(keys[i]);
  return s;
}();

inline constexpr std::array<spec_constant, 1> spec_wg256 = {{{0, "WG_SIZE", 256}}};
inline constexpr std::array<spec_constant, 2> spec_rows = {{{0, "WG_SIZE", 128}, {1, "ROWS", 4}}};

constexpr std::uint32_t features_of(const variant_key& k) {
  std::uint32_t f = feature_none;
  const bool sixteen = k.dtype == element::f16 || k.dtype == element::bf16;
  switch (k.kind) {
    case kernel_kind::dequantize:  // 16-bit output goes through uvec4 stores
      if (k.mode == quant_mode::affine && sixteen) f |= feature_storage_16bit;
      if (k.mode == quant_mode::affine && k.dtype == element::f16) f |= feature_shader_float16;  // f16x2 math
      break;
    case kernel_kind::qmv:
    case kernel_kind::gather_qmv:
    case kernel_kind::qmm:
    case kernel_kind::lut_qmv:
      f |= feature_shared_memory;
      if (sixteen) f |= feature_storage_16bit;
      break;
    case kernel_kind::lut_dequantize:
      if (sixteen) f |= feature_storage_16bit;
      break;
    case kernel_kind::copy:
      break;
  }
  const bool quant = is_quant(k.kind);
  if (quant && k.mode != quant_mode::affine) f |= feature_storage_8bit;
  if (k.subgroup) f |= feature_subgroup_arithmetic;
  return f;
}

constexpr std::string_view source_of(kernel_kind k) {
  switch (k) {
    case kernel_kind::dequantize:
      return sources::dequantize;
    case kernel_kind::qmv:
    case kernel_kind::gather_qmv:
      return sources::qmv;
    case kernel_kind::qmm:
      return sources::qmm;
    case kernel_kind::lut_dequantize:
      return sources::lut_dequantize;
    case kernel_kind::lut_qmv:
      return sources::lut_qmv;
    case kernel_kind::copy:
      return sources::copy;
  }
  return {};
}

constexpr kernel_variant make_variant(std::size_t i) {
  const variant_key& k = keys[i];
  const variant_storage& s = storage[i];
  kernel_variant v{};
  v.name = std::string_view(s.name.data(), s.name_len);
  v.lang = language::glsl;
  v.kind = k.kind;
  v.source = source_of(k.kind);
  v.entry = "main";
  v.defines = std::span<const define>(s.defines.data(), s.n_defines);
  v.bindings = std::span<const binding>(s.bindings.data(), s.n_bindings);
  v.params = push_fields;
  v.params_size = sizeof(push_params);
  v.features = features_of(k);
  switch (k.kind) {
    case kernel_kind::qmv:
    case kernel_kind::gather_qmv:
    case kernel_kind::lut_qmv:
      v.spec_constants = spec_rows;
      v.workgroup = {128, 1, 1};
      v.dispatch =
          k.kind == kernel_kind::gather_qmv
              ? "x = ceil(rows / ROWS), y = tokens * top_k; cols % 32 == 0, ROWS <= 8, WG_SIZE a power of two"
          : k.kind == kernel_kind::qmv
              ? "x = ceil(rows / ROWS); cols % 32 == 0, ROWS <= 8, WG_SIZE a power of two"
              : "x = ceil(rows / ROWS); ROWS <= 8, WG_SIZE a power of two";
      break;
    case kernel_kind::qmm:
      v.workgroup = {256, 1, 1};
      v.dispatch = "x = ceil(rows / 64), y = ceil(m / 32); cols % 32 == 0";
      break;
    case kernel_kind::dequantize:
      v.spec_constants = spec_wg256;
      v.workgroup = {256, 1, 1};
      v.dispatch =
          "count = experts*rows*cols/8; g = ceil(count / WG_SIZE); x = min(g, 32768), y = ceil(g / x)";
      break;
    case kernel_kind::lut_dequantize:
      v.spec_constants = spec_wg256;
      v.workgroup = {256, 1, 1};
      v.dispatch = "count = rows*cols; g = ceil(count / WG_SIZE); x = min(g, 32768), y = ceil(g / x)";
      break;
    case kernel_kind::copy:
      v.spec_constants = spec_wg256;
      v.workgroup = {256, 1, 1};
      v.dispatch = "count = bytes/16; g = ceil(count / WG_SIZE); x = min(g, 32768), y = ceil(g / x)";
      break;
  }
  return v;
}

}  // namespace detail

/// Every Vulkan variant; `keys[i]` describes `variants[i]`.
inline constexpr std::array<variant_key, detail::n_variants> keys = detail::keys;
inline constexpr auto variants = [] {
  std::array<kernel_variant, detail::n_variants> v{};
  for (std::size_t i = 0; i < detail::n_variants; ++i) v[i] = detail::make_variant(i);
  return v;
}();

/// Index of the variant computing `kind` for a format/dtype, or -1.
constexpr int find_variant(kernel_kind kind, const quant_format& f, element dtype, bool subgroup) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const variant_key& k = keys[i];
    if (k.kind == kind && k.mode == f.mode && k.bits == f.bits && k.group_size == f.group_size &&
        k.dtype == dtype && k.subgroup == subgroup)
      return static_cast<int>(i);
  }
  return -1;
}

/// Index of a LUT variant (`kind` lut_dequantize or lut_qmv), or -1.
constexpr int find_lut_variant(kernel_kind kind, int bits, element dtype, bool subgroup) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const variant_key& k = keys[i];
    if (k.kind == kind && k.bits == bits && k.dtype == dtype && k.subgroup == subgroup)
      return static_cast<int>(i);
  }
  return -1;
}

/// Index of the variant with this name, or -1.
constexpr int find_variant(std::string_view name) {
  for (std::size_t i = 0; i < variants.size(); ++i)
    if (variants[i].name == name) return static_cast<int>(i);
  return -1;
}

static_assert(find_variant("qmv_affine_b4_g64_f16_sg") >= 0 && find_variant("copy_u32") >= 0,
              "variant names are the documented cache keys");

}  // namespace lowbit::gpu::vulkan
