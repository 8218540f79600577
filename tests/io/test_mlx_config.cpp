// config.json parsing: mlx-lm quantization (global, per-layer dicts and false, mode, legacy
// forms), FP8 block configs, and the errors for the rest.
#include <doctest/doctest.h>
#include <lowbit/io/mlx_config.hpp>

using namespace lowbit::io;
using lowbit::quant_mode;

TEST_CASE("mlx-lm quantization with per-layer overrides") {
  const auto c = parse_model_config(R"({"model_type":"qwen3_moe","tie_word_embeddings":true,
    "quantization":{"group_size":64,"bits":4,"mode":"affine",
      "model.layers.0.mlp.gate":{"group_size":64,"bits":8},
      "model.layers.3.self_attn.v_proj":{"group_size":32,"bits":6,"mode":"affine"},
      "lm_head":false},
    "quantization_config":{"group_size":64,"bits":4,"mode":"affine"}})",
                                    "config.json");
  REQUIRE(c.quantization);
  CHECK(c.quantization->bits == 4);
  CHECK(c.quantization->group_size == 64);
  CHECK(c.quantization_source == "quantization");
  CHECK(c.tie_word_embeddings);
  CHECK(c.model_type == "qwen3_moe");
  CHECK(c.format_for("model.layers.0.mlp.gate")->bits == 8);
  CHECK(c.format_for("model.layers.3.self_attn.v_proj")->group_size == 32);
  CHECK_FALSE(c.format_for("lm_head").has_value());
  CHECK(c.format_for("model.layers.1.mlp.up_proj")->bits == 4);
  const auto s = strip_quantization(c.json);
  CHECK_FALSE(s.contains("quantization"));
  CHECK_FALSE(s.contains("quantization_config"));
  CHECK(s["model_type"] == "qwen3_moe");
  CHECK(s.begin().key() == "model_type");  // key order kept
}

TEST_CASE("older and legacy forms") {
  auto c = parse_model_config(R"({"quantization":{"group_size":32,"bits":3}})", "a");
  CHECK(c.quantization->mode == quant_mode::affine);  // no "mode" = affine
  c = parse_model_config(R"({"quantization_config":{"group_size":128,"bits":2}})", "b");
  CHECK(c.quantization->group_size == 128);
  CHECK(c.quantization_source == "quantization_config");
  c = parse_model_config(R"({"quantization_config":{"quant_method":"mxfp4"}})", "c");
  CHECK(c.quantization->mode == quant_mode::mxfp4);
  CHECK(c.quantization->group_size == 32);
  c = parse_model_config(R"({"quantization":{"mode":"nvfp4","group_size":16,"bits":4,"x":{"mode":"mxfp8"}}})",
                         "d");
  CHECK(c.quantization->mode == quant_mode::nvfp4);
  CHECK(c.format_for("x")->mode == quant_mode::mxfp8);
  CHECK(c.format_for("x")->bits == 8);  // defaults of the override's own mode
  c = parse_model_config(R"({"hidden_size":4})", "e");
  CHECK_FALSE(c.quantization);
  CHECK_FALSE(c.fp8);
}

TEST_CASE("FP8 block configs") {
  const auto c = parse_model_config(R"({"quantization_config":{"quant_method":"fp8","fmt":"e4m3",
    "activation_scheme":"dynamic","weight_block_size":[128,64],"scale_fmt":"ue8m0","modules_to_not_convert":["lm_head"]}})",
                                    "ds");
  REQUIRE(c.fp8);
  CHECK(c.fp8->block_rows == 128);
  CHECK(c.fp8->block_cols == 64);
  CHECK(c.fp8->scale_fmt == "ue8m0");
  CHECK(c.fp8->modules_to_not_convert == std::vector<std::string>{"lm_head"});
  CHECK_FALSE(c.quantization);
}

TEST_CASE("bad configs throw lowbit::error naming the file and the problem") {
  auto err = [](std::string_view text) {
    try {
      (void)parse_model_config(text, "cfg.json");
    } catch (const lowbit::error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(err("{").find("not valid JSON") != std::string::npos);
  CHECK(err("{").find("cfg.json") != std::string::npos);
  CHECK(err("[1]").find("not a JSON object") != std::string::npos);
  CHECK(err(R"({"quantization":3})").find("not an object") != std::string::npos);
  CHECK(err(R"({"quantization":{"bits":7,"group_size":64}})").find("unsupported bits 7") !=
        std::string::npos);
  CHECK(err(R"({"quantization":{"bits":"4"}})").find("\"bits\" must be") != std::string::npos);
  CHECK(err(R"({"quantization":{"mode":"int4"}})").find("unknown quantization mode 'int4'") !=
        std::string::npos);
  CHECK(err(R"({"quantization":{"bits":4,"group_size":64,"m":{"bits":5,"group_size":48}}})")
            .find("entry 'm'") != std::string::npos);
  CHECK(err(R"({"quantization":{"mode":"mxfp4","bits":4,"group_size":64}})")
            .find("requires bits 4 and group_size 32") != std::string::npos);
  CHECK(err(R"({"quantization_config":{"quant_method":"awq"}})").find("'awq' is not supported") !=
        std::string::npos);
  CHECK(err(R"({"quantization_config":{"quant_method":"fp8","fmt":"e5m2"}})").find("only e4m3") !=
        std::string::npos);
  CHECK(err(R"({"quantization_config":{"quant_method":"fp8","weight_block_size":[0,128]}})")
            .find("weight_block_size") != std::string::npos);
  CHECK(err(std::string(200, '[') + std::string(200, ']')).find("nests deeper") != std::string::npos);
}
