// Tool-side helpers over lowbit::io: output dtypes, expert (un)stacking names, aligned row slices.
#pragma once

#include <lowbit/core/half.hpp>
#include <lowbit/io/model.hpp>
#include <lowbit/kernels/lut.hpp>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::tools {

/// "f16" / "bf16" / "f32" → dtype (usage errors otherwise).
inline io::dtype parse_float_dtype(const std::string& s) {
  if (s == "f16" || s == "float16") return io::dtype::F16;
  if (s == "bf16" || s == "bfloat16") return io::dtype::BF16;
  if (s == "f32" || s == "float32") return io::dtype::F32;
  throw lowbit::error(fmt::format("unknown dtype '{}' (expected f16, bf16 or f32)", s));
}
inline std::string torch_dtype_name(io::dtype t) {
  return t == io::dtype::F16 ? "float16" : t == io::dtype::BF16 ? "bfloat16" : "float32";
}

/// Calls f(tag) with a value of the C++ type stored by the float dtype t.
template <class F>
decltype(auto) with_float_type(io::dtype t, F&& f) {
  switch (t) {
    case io::dtype::F16:
      return f(lowbit::f16{});
    case io::dtype::BF16:
      return f(lowbit::bf16{});
    case io::dtype::F32:
      return f(float{});
    default:
      throw lowbit::error(fmt::format("{} is not a float dtype (F16, BF16, F32)", io::to_string(t)));
  }
}

/// mlx-lm's MoE stacks "P.switch_mlp.X.weight" [E, ...] ↔ Hugging Face "P.experts.{e}.X.weight".
/// Mixtral's HF names are w1/w3/w2 for gate/up/down (mlx-lm's mixtral sanitize).
struct expert_name {
  std::string prefix, proj, suffix;  // "model.layers.0.mlp", "gate_proj", "weight"
  bool mixtral = false;
};
inline std::optional<expert_name> parse_switch_name(std::string_view name) {
  const auto pos = name.find(".switch_mlp.");
  if (pos == std::string_view::npos) return std::nullopt;
  expert_name e;
  e.prefix = std::string(name.substr(0, pos));
  const std::string_view rest = name.substr(pos + 12);
  const auto dot = rest.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  e.proj = std::string(rest.substr(0, dot));
  e.suffix = std::string(rest.substr(dot + 1));
  e.mixtral = e.prefix.size() >= 16 && e.prefix.substr(e.prefix.size() - 16) == "block_sparse_moe";
  return e;
}
inline std::string hf_expert_name(const expert_name& e, std::size_t expert) {
  std::string proj = e.proj;
  if (e.mixtral)
    proj = proj == "gate_proj" ? "w1" : proj == "down_proj" ? "w2" : proj == "up_proj" ? "w3" : proj;
  return fmt::format("{}.experts.{}.{}.{}", e.prefix, expert, proj, e.suffix);
}

/// Rows [r0, r1) of a row-major stored tensor with `per_row` elements of T per row, aligned for T:
/// a pointer into the mapping when it is aligned, else a copy in `scratch`.
template <class T>
const T* aligned_rows(const io::tensor_ref& t, std::size_t per_row, std::size_t r0, std::size_t r1,
                      std::vector<T>& scratch) {
  const std::byte* p = t.bytes().data() + r0 * per_row * sizeof(T);
  if (reinterpret_cast<std::uintptr_t>(p) % alignof(T) == 0) return reinterpret_cast<const T*>(p);
  scratch.resize((r1 - r0) * per_row);
  std::memcpy(static_cast<void*>(scratch.data()), p, scratch.size() * sizeof(T));
  return scratch.data();
}

/// Rows that must stay together when a tensor is processed in row chunks (a LUT group).
inline std::size_t row_granule(const io::model_tensor& t) {
  if (t.kind == io::tensor_kind::fp8_block) return t.block_rows;
  if (t.kind == io::tensor_kind::lut) return lut_rows_per_group(t.lut, t.rows);
  return 1;
}

/// Dequantizes rows [r0, r1) (multiples of row_granule) of the flattened [experts*rows, cols]
/// palettized tensor t into out.
template <class Out, class Par>
void lut_dequant_rows(const io::model_tensor& t, std::size_t r0, std::size_t r1, Out* out, Par&& par) {
  const std::size_t g = row_granule(t), bpr = t.cols * static_cast<std::size_t>(t.lut.bits) / 8;
  const std::size_t entries = lut_entries(t.lut);
  const auto* idx = reinterpret_cast<const std::uint8_t*>(t.weight.bytes().data());
  with_float_type(t.scales->type, [&](auto tag) {
    using L = decltype(tag);
    std::vector<L> scratch;
    const L* lut = aligned_rows<L>(t.scales, entries, r0 / g, r1 / g, scratch);
    par(r1 - r0, g, [&](std::size_t a, std::size_t b) {
      const lowbit::lut_matrix<L> m{idx + (r0 + a) * bpr, lut + a / g * entries, b - a, t.cols,
                                    lowbit::lut_format{t.lut.bits, g}};
      lowbit::dequantize(m, out + a * t.cols);
    });
    return 0;
  });
}

}  // namespace lowbit::tools
