// libFuzzer target: config.json parsing (mlx-lm quantization / quantization_config, FP8 block).
// Every input must either parse or throw lowbit::error; nothing else may escape.
#include <lowbit/io/mlx_config.hpp>

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto c = lowbit::io::parse_model_config(text, "fuzz");
    // Whatever was accepted must be a format MLX supports.
    if (c.quantization) lowbit::validate(*c.quantization);
    for (const auto& [name, f] : c.overrides)
      if (f) lowbit::validate(*f);
    (void)c.format_for("model.layers.0.mlp.gate");
    const auto stripped = lowbit::io::strip_quantization(c.json);
    (void)stripped.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  } catch (const lowbit::error&) {
  }
  return 0;
}
