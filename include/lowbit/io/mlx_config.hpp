// config.json of MLX (mlx-lm) and FP8-block checkpoints: what is quantized, and how.
//
// mlx-lm writes  "quantization": {"group_size": 64, "bits": 4, "mode": "affine",
//                                 "<module path>": {"group_size": .., "bits": .., "mode": ..} | false, ...}
// and an identical "quantization_config". Older files lack "mode" (= affine) or carry only a
// legacy "quantization_config" ({"quant_method": "mxfp4"}, research/mlx.md §4). FP8-block
// checkpoints (DeepSeek-V3, Qwen3-FP8) carry {"quant_method": "fp8", "fmt": "e4m3",
// "weight_block_size": [128, 128]}. Whether a tensor IS quantized is decided by the checkpoint
// (presence of "X.scales" / "X.weight_scale_inv", as mlx-lm does), this only says how.
#pragma once

#include <lowbit/format/quant_format.hpp>
#include <lowbit/io/detail/json_file.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::io {

struct fp8_block_config {
  std::size_t block_rows = 128, block_cols = 128;
  std::string scale_fmt;  // "" or "ue8m0" (power-of-two scales; dequant is the same multiply)
  std::vector<std::string> modules_to_not_convert;
};

struct model_config {
  nlohmann::ordered_json json;               // the whole document, key order kept
  std::optional<quant_format> quantization;  // the global MLX format (none: not MLX-quantized)
  std::map<std::string, std::optional<quant_format>, std::less<>> overrides;  // per module; nullopt = false
  std::optional<fp8_block_config> fp8;                                        // FP8-block checkpoint
  std::string quantization_source;  // "quantization", "quantization_config", "legacy mxfp4", ""
  bool tie_word_embeddings = false;
  std::string model_type;

  /// The format of module `path` ("model.layers.0.mlp.gate", no ".weight"): its override if it
  /// has one, else the global format. nullopt: not quantized (or the config says nothing).
  std::optional<quant_format> format_for(std::string_view path) const {
    if (const auto it = overrides.find(path); it != overrides.end()) return it->second;
    return quantization;
  }
};

namespace detail {

inline int json_int(const nlohmann::ordered_json& obj, const char* key, int fallback,
                    std::string_view where) {
  if (!obj.contains(key)) return fallback;
  const auto& v = obj[key];
  if (!v.is_number_integer() || v.get<long long>() < 0 || v.get<long long>() > 1 << 20)
    fail("lowbit::io::config {}: \"{}\" must be a small non-negative integer, got {}", where, key,
         v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  return v.get<int>();
}

/// {"group_size", "bits", "mode"} → quant_format, with MLX's defaults for missing keys.
inline quant_format parse_quant_entry(const nlohmann::ordered_json& obj, const quant_format* inherit,
                                      std::string_view where) {
  quant_mode mode = inherit ? inherit->mode : quant_mode::affine;
  if (obj.contains("mode")) {
    if (!obj["mode"].is_string()) fail("lowbit::io::config {}: \"mode\" must be a string", where);
    try {
      mode = parse_quant_mode(obj["mode"].get<std::string>());
    } catch (const lowbit::error& e) {
      fail("lowbit::io::config {}: {}", where, e.what());
    }
  }
  const quant_format d = inherit && inherit->mode == mode ? *inherit : default_format(mode);
  quant_format f{mode, json_int(obj, "bits", d.bits, where),
                 json_int(obj, "group_size", d.group_size, where)};
  try {
    validate(f);
  } catch (const lowbit::error& e) {
    fail("lowbit::io::config {}: {}", where, e.what());
  }
  return f;
}

inline void parse_mlx_quantization(model_config& c, const nlohmann::ordered_json& q, std::string_view label,
                                   std::string_view key) {
  const std::string where = fmt::format("'{}' \"{}\"", label, key);
  c.quantization = parse_quant_entry(q, nullptr, where);
  for (const auto& [name, v] : q.items()) {
    if (name == "group_size" || name == "bits" || name == "mode") continue;
    if (v.is_boolean()) {
      if (!v.get<bool>()) c.overrides[name] = std::nullopt;
    } else if (v.is_object()) {
      c.overrides[name] = parse_quant_entry(v, &*c.quantization, fmt::format("{} entry '{}'", where, name));
    }  // other keys (e.g. "quant_method") do not describe modules
  }
  c.quantization_source = std::string(key);
}

inline void parse_fp8(model_config& c, const nlohmann::ordered_json& q, std::string_view label) {
  fp8_block_config f;
  if (q.contains("fmt") && q["fmt"] != "e4m3")
    fail("lowbit::io::config '{}': FP8 fmt {} is not supported (only e4m3)", label, q["fmt"].dump());
  if (q.contains("weight_block_size")) {
    const auto& b = q["weight_block_size"];
    if (!b.is_array() || b.size() != 2 || !b[0].is_number_unsigned() || !b[1].is_number_unsigned() ||
        b[0].get<std::size_t>() == 0 || b[1].get<std::size_t>() == 0 ||
        b[0].get<std::size_t>() > (1u << 20) || b[1].get<std::size_t>() > (1u << 20))
      fail("lowbit::io::config '{}': \"weight_block_size\" must be [rows, cols] of positive integers, got {}",
           label, b.dump());
    f.block_rows = b[0].get<std::size_t>();
    f.block_cols = b[1].get<std::size_t>();
  }
  if (q.contains("scale_fmt") && q["scale_fmt"].is_string()) f.scale_fmt = q["scale_fmt"].get<std::string>();
  if (q.contains("modules_to_not_convert") && q["modules_to_not_convert"].is_array())
    for (const auto& m : q["modules_to_not_convert"])
      if (m.is_string()) f.modules_to_not_convert.push_back(m.get<std::string>());
  c.fp8 = std::move(f);
  c.quantization_source = "quantization_config";
}

}  // namespace detail

/// Parses config.json text; `label` names it in errors.
inline model_config parse_model_config(std::string_view text, std::string_view label) {
  model_config c;
  c.json = detail::parse_json(text, label);
  const auto& j = c.json;
  if (!j.is_object()) detail::fail("lowbit::io::config '{}': not a JSON object", label);
  if (j.contains("tie_word_embeddings") && j["tie_word_embeddings"].is_boolean())
    c.tie_word_embeddings = j["tie_word_embeddings"].get<bool>();
  if (j.contains("model_type") && j["model_type"].is_string())
    c.model_type = j["model_type"].get<std::string>();

  if (j.contains("quantization")) {
    if (!j["quantization"].is_object())
      detail::fail("lowbit::io::config '{}': \"quantization\" is not an object", label);
    detail::parse_mlx_quantization(c, j["quantization"], label, "quantization");
    return c;
  }
  if (!j.contains("quantization_config")) return c;
  const auto& q = j["quantization_config"];
  if (!q.is_object())
    detail::fail("lowbit::io::config '{}': \"quantization_config\" is not an object", label);
  const std::string method =
      q.contains("quant_method") && q["quant_method"].is_string() ? q["quant_method"].get<std::string>() : "";
  if (method == "fp8" || q.contains("weight_block_size") || q.contains("fmt")) {
    detail::parse_fp8(c, q, label);
  } else if (method == "mxfp4") {
    c.quantization = default_format(quant_mode::mxfp4);
    c.quantization_source = "legacy mxfp4";
  } else if (!method.empty()) {
    detail::fail(
        "lowbit::io::config '{}': quant_method '{}' is not supported (MLX affine/mxfp4/mxfp8/nvfp4 "
        "checkpoints and FP8-block checkpoints are; convert AWQ/GPTQ/compressed-tensors with mlx-lm first)",
        label, method);
  } else {
    detail::parse_mlx_quantization(c, q, label, "quantization_config");
  }
  return c;
}

/// Reads DIR/config.json (or the given file).
inline model_config read_model_config(const std::filesystem::path& p) {
  const auto file = std::filesystem::is_directory(p) ? p / "config.json" : p;
  return parse_model_config(detail::read_text_file(file), file.string());
}

/// The config without its quantization: what a dequantized checkpoint's config.json holds.
inline nlohmann::ordered_json strip_quantization(nlohmann::ordered_json j) {
  if (j.is_object()) {
    j.erase("quantization");
    j.erase("quantization_config");
  }
  return j;
}

/// The "quantization" object mlx-lm writes for a global format plus per-module overrides.
inline nlohmann::ordered_json quantization_json(
    const quant_format& global, const std::map<std::string, std::optional<quant_format>>& overrides) {
  nlohmann::ordered_json q;
  q["group_size"] = global.group_size;
  q["bits"] = global.bits;
  q["mode"] = std::string(to_string(global.mode));
  for (const auto& [name, f] : overrides) {
    if (!f) {
      q[name] = false;
    } else {
      q[name] = {{"group_size", f->group_size}, {"bits", f->bits}, {"mode", std::string(to_string(f->mode))}};
    }
  }
  return q;
}

}  // namespace lowbit::io
