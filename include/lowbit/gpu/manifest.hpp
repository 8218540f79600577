// The manifest types shared by the Vulkan (GLSL) and Metal (MSL) kernel sets.
// A runtime that JIT-compiles lowbit's embedded sources needs, per variant:
// the source and entry point, the defines / template arguments that specialise
// it, its bindings, the argument struct, the workgroup size and dispatch rule,
// the device features it requires, and a deterministic name usable as a
// pipeline-cache key. Everything here is constexpr data; no GPU API is named.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace lowbit::gpu {

enum class language { glsl, msl };
enum class kernel_kind { dequantize, qmv, qmm, gather_qmv, lut_dequantize, lut_qmv, copy };
enum class element { u8, u16, u32, f16, bf16, f32 };
enum class access { read_only, write_only, read_write };
/// What a buffer holds, so a host binds by meaning rather than by index.
enum class buffer_role { packed, scales, biases, x, y, out, ids, lut, indices, src, dst };

/// Device features a variant needs (bit mask).
enum feature : std::uint32_t {
  feature_none = 0,
  feature_shader_float16 = 1u << 0,  // f16 arithmetic in shaders
  feature_storage_8bit = 1u << 1,    // 8-bit storage buffers
  feature_storage_16bit = 1u << 2,   // 16-bit storage buffers
  feature_subgroup_arithmetic = 1u << 3,
  feature_subgroup_shuffle = 1u << 4,
  feature_shared_memory = 1u << 5,  // threadgroup / workgroup shared memory
  feature_simdgroup_matrix = 1u << 6,
};

struct define {
  std::string_view name;
  std::string_view value;
};

struct binding {
  std::uint32_t index;  // Vulkan binding / Metal buffer index
  buffer_role role;
  element type;
  access mode;
};

/// Vulkan specialization constant or Metal function constant.
struct spec_constant {
  std::uint32_t id;
  std::string_view name;
  std::uint32_t default_value;
};

/// One field of the push-constant / `constant` argument struct. The C++ struct
/// itself lives beside the kernel set and is checked against these with
/// static_assert(offsetof(...)).
struct param_field {
  std::string_view name;
  element type;
  std::uint32_t offset;
};

/// One compiled variant of a kernel.
struct kernel_variant {
  std::string_view name;  // deterministic cache key, e.g. "qmv_affine_b4_g64_f16_sg"
  language lang;
  kernel_kind kind;
  std::string_view source;  // the embedded source text
  std::string_view entry;   // entry point / [[host_name]]
  std::span<const define> defines;
  std::span<const spec_constant> spec_constants;
  std::span<const binding> bindings;
  std::span<const param_field> params;
  std::uint32_t params_size;               // bytes of the argument struct
  std::array<std::uint32_t, 3> workgroup;  // threads per workgroup / threadgroup
  std::string_view dispatch;               // human-readable grid formula, e.g. "x = ceil(rows / 8)"
  std::uint32_t features;                  // bit mask of `feature`
};

constexpr std::string_view kernel_name(kernel_kind k) {
  switch (k) {
    case kernel_kind::dequantize:
      return "dequantize";
    case kernel_kind::qmv:
      return "qmv";
    case kernel_kind::qmm:
      return "qmm";
    case kernel_kind::gather_qmv:
      return "gather_qmv";
    case kernel_kind::lut_dequantize:
      return "lut_dequantize";
    case kernel_kind::lut_qmv:
      return "lut_qmv";
    case kernel_kind::copy:
      return "copy";
  }
  return "?";
}
constexpr std::string_view element_name(element t) {
  switch (t) {
    case element::u8:
      return "u8";
    case element::u16:
      return "u16";
    case element::u32:
      return "u32";
    case element::f16:
      return "f16";
    case element::bf16:
      return "bf16";
    case element::f32:
      return "f32";
  }
  return "?";
}
/// Kernels over MLX-quantized weights (as opposed to LUT and copy kernels).
constexpr bool is_quant(kernel_kind k) {
  return k == kernel_kind::dequantize || k == kernel_kind::qmv || k == kernel_kind::gather_qmv ||
         k == kernel_kind::qmm;
}
constexpr bool is_lut(kernel_kind k) { return k == kernel_kind::lut_dequantize || k == kernel_kind::lut_qmv; }

namespace detail {

/// Decimal text of the small numbers variant names and defines use (bits, group sizes).
constexpr std::string_view decimal(int v) {
  constexpr std::array<std::string_view, 9> small = {"0", "1", "2", "3", "4", "5", "6", "7", "8"};
  if (v >= 0 && v <= 8) return small[static_cast<std::size_t>(v)];
  return v == 16 ? "16" : v == 32 ? "32" : v == 64 ? "64" : v == 128 ? "128" : "?";
}

/// The out-of-line parts of a variant (its name text, defines / template
/// arguments, bindings), built at compile time by each language's manifest.
template <std::size_t NameChars, std::size_t MaxDefines, std::size_t MaxBindings = 6>
struct variant_storage {
  std::array<char, NameChars> name{};
  std::size_t name_len = 0;
  std::array<define, MaxDefines> defines{};
  std::size_t n_defines = 0;
  std::array<binding, MaxBindings> bindings{};
  std::size_t n_bindings = 0;

  constexpr void append(std::string_view s) {
    for (char c : s) name[name_len++] = c;
  }
  constexpr void def(std::string_view n, std::string_view v) { defines[n_defines++] = {n, v}; }
  constexpr void bind(std::uint32_t i, buffer_role r, element t, access a) {
    bindings[n_bindings++] = {i, r, t, a};
  }
};

}  // namespace detail

}  // namespace lowbit::gpu
