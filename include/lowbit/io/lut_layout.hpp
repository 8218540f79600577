// How a palettized (LUT) weight is stored in safetensors; lowbit's own layout, since neither
// mlx-lm nor Hugging Face define one. For a module X with logical weight [..., rows, cols]
// (leading dims: stacked MoE experts, "P.switch_mlp.X" [E, rows, cols] as in the affine layout):
//   X.weight  U8  [..., rows, cols*bits/8]: the CoreML iOS18 index bit stream (LSB-first, row
//             major over the whole [..., rows, cols] index tensor; format/lut.hpp). Only
//             tensors with cols*bits % 8 == 0 are palettized, so every row starts on a byte
//             and the shape alone gives rows and cols; lowbit-quantize copies the others.
//   X.lut     F16 (F32/BF16 read too) [..., groups, 2^bits]: one table per `group_size`
//             consecutive OUTPUT rows (groups = rows / group_size; per tensor: groups = 1).
// bits = log2(X.lut's last dim), group_size = rows / groups: the tensors alone say everything.
// config.json records how they were made, in mlx-lm's style with per-module overrides:
//   "lut_quantization": {"bits": 4, "group_size": 8, "method": "kmeans_optimal",
//                        "model.layers.0.self_attn.v_proj": {"bits": 6, "group_size": 8}}
// group_size 0 = one table per tensor (per expert). A reader checks config bits against X.lut.
#pragma once

#include <lowbit/core/error.hpp>
#include <lowbit/format/lut.hpp>
#include <lowbit/io/dtype.hpp>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::io {

inline constexpr const char* lut_config_key = "lut_quantization";

/// Stored shapes of X.weight / X.lut for logical [lead..., rows, cols] (cols*bits % 8 == 0).
inline std::vector<std::size_t> lut_index_shape(std::vector<std::size_t> lead, std::size_t rows,
                                                std::size_t cols, const lut_format& f) {
  lead.push_back(rows);
  lead.push_back(cols * static_cast<std::size_t>(f.bits) / 8);
  return lead;
}
inline std::vector<std::size_t> lut_table_shape(std::vector<std::size_t> lead, std::size_t rows,
                                                const lut_format& f) {
  lead.push_back(lut_groups(f, rows));
  lead.push_back(lut_entries(f));
  return lead;
}

namespace detail {

inline std::string dims(const std::vector<std::size_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

inline std::optional<lut_format> lut_format_from(const nlohmann::ordered_json& j, std::string_view where) {
  if (j.is_boolean() && !j.get<bool>()) return std::nullopt;
  if (!j.is_object() || !j.contains("bits") || !j["bits"].is_number_integer())
    fail("lowbit::io::config {}: expected {{\"bits\": B, \"group_size\": G}} or false", where);
  lut_format f;
  f.bits = j["bits"].get<int>();
  const auto g = j.contains("group_size") ? j["group_size"].get<long long>() : 0;
  if (g < 0) fail("lowbit::io::config {}: negative group_size {}", where, g);
  f.group_size = static_cast<std::size_t>(g);
  validate(f);
  return f;
}

}  // namespace detail

/// The format config.json records for module `path` (its override, else the global one);
/// nullopt when config.json has no "lut_quantization" or says false for it.
inline std::optional<lut_format> lut_format_for(const nlohmann::ordered_json& config, std::string_view path) {
  if (!config.is_object() || !config.contains(lut_config_key)) return std::nullopt;
  const auto& q = config[lut_config_key];
  const std::string key(path);
  if (q.is_object() && q.contains(key)) return detail::lut_format_from(q[key], key);
  return detail::lut_format_from(q, lut_config_key);
}

/// config.json's "lut_quantization" entry; overrides: module → format, nullopt = false.
inline nlohmann::ordered_json lut_quantization_json(
    const lut_format& global, std::string_view method,
    const std::map<std::string, std::optional<lut_format>>& over) {
  nlohmann::ordered_json q;
  q["bits"] = global.bits;
  q["group_size"] = global.group_size;
  q["method"] = std::string(method);
  for (const auto& [name, f] : over)
    q[name] = f ? nlohmann::ordered_json{{"bits", f->bits}, {"group_size", f->group_size}}
                : nlohmann::ordered_json(false);
  return q;
}

/// Validates a stored X.weight / X.lut pair, sets `f` and returns the logical shape
/// [lead..., rows, cols]. Throws lowbit::error naming `where` and both shapes.
inline std::vector<std::size_t> lut_logical_shape(const std::string& where, dtype wtype,
                                                  const std::vector<std::size_t>& w, dtype ltype,
                                                  const std::vector<std::size_t>& l, lut_format& f) {
  using detail::dims;
  if (wtype != dtype::U8) detail::fail("{} is {}, expected U8 (LUT index stream)", where, to_string(wtype));
  if (ltype != dtype::F16 && ltype != dtype::F32 && ltype != dtype::BF16)
    detail::fail("{}: its LUT must be F16, F32 or BF16, got {}", where, to_string(ltype));
  const std::size_t r = w.size();
  if (r < 2 || l.size() != r)
    detail::fail("{} {} needs a LUT [..., groups, 2^bits] of rank {}, but its LUT is {}", where, dims(w), r,
                 dims(l));
  const std::size_t entries = l[r - 1], groups = l[r - 2], rows = w[r - 2];
  int bits = 1;
  while (bits <= 8 && (std::size_t{1} << bits) != entries) ++bits;
  if (bits > 8)
    detail::fail("{}: LUT {} has {} entries per table, expected 2^bits (2..256)", where, dims(l), entries);
  bool lead_ok = true;
  for (std::size_t i = 0; i + 2 < r; ++i) lead_ok = lead_ok && l[i] == w[i];
  if (!lead_ok || groups == 0 || rows == 0 || rows % groups != 0 || w[r - 1] == 0 ||
      w[r - 1] * 8 % static_cast<std::size_t>(bits) != 0)
    detail::fail(
        "{} {} does not match its LUT {}: need the same leading dims, groups dividing rows {} and "
        "whole {}-bit indices per row",
        where, dims(w), dims(l), rows, bits);
  f.bits = bits;
  f.group_size = groups == 1 ? 0 : rows / groups;
  auto out = w;
  out[r - 1] = w[r - 1] * 8 / static_cast<std::size_t>(bits);
  return out;
}

}  // namespace lowbit::io
