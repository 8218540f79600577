// plan_model: folding scales/biases/scale_inv into their weights, and every inconsistency in
// a checkpoint rejected with a clear error. Dequantization through the plan is checked
// bit-exactly against MLX's own golden output (tests/data).
#include <doctest/doctest.h>
#include <lowbit/io/model.hpp>
#include <lowbit/io/safetensors_writer.hpp>
#include <lowbit/lowbit.hpp>

#include <cstring>

#include "io_test_util.hpp"

using namespace lowbit::io;
namespace fs = std::filesystem;

namespace {

struct t {
  std::string name;
  dtype type;
  std::vector<std::size_t> shape;
};

// Writes a one-file checkpoint with zero-filled tensors and the given config.json.
fs::path make_ckpt(std::string_view name, const std::vector<t>& ts, std::string_view config) {
  const auto dir = lowbit_test::scratch(std::string("model_") + std::string(name));
  std::vector<tensor_spec> specs;
  for (const auto& x : ts) specs.push_back({x.name, x.type, x.shape});
  safetensors_writer w(dir / "model.safetensors", specs);
  for (const auto& s : specs) w.append(std::vector<std::byte>(detail::spec_bytes(s)));
  w.finish();
  lowbit_test::write_file(dir / "config.json", config);
  return dir;
}

std::string plan_error(const fs::path& dir) {
  try {
    const checkpoint ck(dir);
    (void)plan_model(ck, read_model_config(dir));
  } catch (const lowbit::error& e) {
    return e.what();
  }
  return "";
}

constexpr const char* q4 = R"({"quantization":{"group_size":64,"bits":4,"mode":"affine"}})";

}  // namespace

TEST_CASE("a mixed MLX checkpoint is planned into logical tensors") {
  const auto dir =
      make_ckpt("ok",
                {{"a.weight", dtype::U32, {8, 32}},  // 4-bit: 256 cols
                 {"a.scales", dtype::BF16, {8, 4}},
                 {"a.biases", dtype::BF16, {8, 4}},
                 {"s.switch_mlp.up.weight", dtype::U32, {3, 8, 16}},
                 {"s.switch_mlp.up.scales", dtype::U8, {3, 8, 4}},
                 {"n.weight", dtype::BF16, {256}},
                 {"f.weight", dtype::F8_E4M3, {130, 300}},
                 {"f.weight_scale_inv", dtype::F32, {2, 3}}},
                R"({"quantization":{"group_size":64,"bits":4,"s.switch_mlp.up":{"mode":"mxfp4"}}})");
  const checkpoint ck(dir);
  const auto plan = plan_model(ck, read_model_config(dir));
  REQUIRE(plan.size() == 4);
  CHECK(plan[0].name == "a.weight");
  CHECK(plan[0].kind == tensor_kind::mlx_quantized);
  CHECK(plan[0].shape == std::vector<std::size_t>{8, 256});
  CHECK(plan[1].format.mode == lowbit::quant_mode::mxfp4);
  CHECK(plan[1].experts == 3);
  CHECK(plan[1].shape == std::vector<std::size_t>{3, 8, 128});
  CHECK(plan[2].kind == tensor_kind::plain);
  CHECK(plan[3].kind == tensor_kind::fp8_block);
  CHECK(plan[3].rows == 130);
}

TEST_CASE("bad checkpoints are rejected") {
  CHECK(plan_error(make_ckpt("scales_shape",
                             {{"a.weight", dtype::U32, {8, 32}},
                              {"a.scales", dtype::F16, {8, 3}},
                              {"a.biases", dtype::F16, {8, 3}}},
                             q4))
            .find("needs scales [8, 4]") != std::string::npos);
  CHECK(plan_error(
            make_ckpt("no_biases", {{"a.weight", dtype::U32, {8, 32}}, {"a.scales", dtype::F16, {8, 4}}}, q4))
            .find("needs 'a.biases', which is missing") != std::string::npos);
  CHECK(plan_error(make_ckpt("bias_mismatch",
                             {{"a.weight", dtype::U32, {8, 32}},
                              {"a.scales", dtype::F16, {8, 4}},
                              {"a.biases", dtype::F32, {8, 4}}},
                             q4))
            .find("do not match scales") != std::string::npos);
  CHECK(plan_error(make_ckpt("fp_biases",
                             {{"a.weight", dtype::U32, {8, 32}},
                              {"a.scales", dtype::U8, {8, 8}},
                              {"a.biases", dtype::U8, {8, 8}}},
                             R"({"quantization":{"mode":"mxfp4","group_size":32,"bits":4}})"))
            .find("has no biases") != std::string::npos);
  CHECK(plan_error(make_ckpt("orphan_scales", {{"a.scales", dtype::F16, {8, 4}}}, q4))
            .find("no matching 'a.weight'") != std::string::npos);
  CHECK(plan_error(make_ckpt("not_u32",
                             {{"a.weight", dtype::F16, {8, 32}},
                              {"a.scales", dtype::F16, {8, 4}},
                              {"a.biases", dtype::F16, {8, 4}}},
                             q4))
            .find("expected U32") != std::string::npos);
  CHECK(plan_error(make_ckpt("no_config_quant",
                             {{"a.weight", dtype::U32, {8, 32}}, {"a.scales", dtype::F16, {8, 4}}}, "{}"))
            .find("has no \"quantization\"") != std::string::npos);
  CHECK(plan_error(make_ckpt("config_false",
                             {{"a.weight", dtype::U32, {8, 32}}, {"a.scales", dtype::F16, {8, 4}}},
                             R"({"quantization":{"group_size":64,"bits":4,"a":false}})"))
            .find("not quantized (false)") != std::string::npos);
  CHECK(plan_error(
            make_ckpt("fp8_scale",
                      {{"f.weight", dtype::F8_E4M3, {130, 300}}, {"f.weight_scale_inv", dtype::F32, {1, 3}}},
                      "{}"))
            .find("needs weight_scale_inv [2, 3]") != std::string::npos);
  CHECK(plan_error(make_ckpt("groups",
                             {{"a.weight", dtype::U32, {8, 3}},
                              {"a.scales", dtype::F16, {8, 1}},
                              {"a.biases", dtype::F16, {8, 1}}},
                             q4))
            .find("whole groups") != std::string::npos);
}

TEST_CASE("index naming a missing shard, or a tensor its shard lacks") {
  const auto dir = make_ckpt("missing_shard", {{"a", dtype::U8, {4}}}, "{}");
  fs::rename(dir / "model.safetensors", dir / "model-00001-of-00002.safetensors");
  lowbit_test::write_file(
      dir / "model.safetensors.index.json",
      R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
  CHECK(plan_error(dir).find("names shard 'model-00002-of-00002.safetensors' which does not exist") !=
        std::string::npos);
  lowbit_test::write_file(
      dir / "model.safetensors.index.json",
      R"({"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors"}})");
  CHECK(plan_error(dir).find("which has no such tensor") != std::string::npos);
  lowbit_test::write_file(dir / "model.safetensors.index.json", R"({"weight_map":{"a":"../etc/passwd"}})");
  CHECK(plan_error(dir).find("not a file in the directory") != std::string::npos);
  lowbit_test::write_file(dir / "model.safetensors.index.json", R"({"weight_map":)");
  CHECK(plan_error(dir).find("not valid JSON") != std::string::npos);
}

TEST_CASE("dequantizing through the plan reproduces MLX's golden dequantize (affine f16, mxfp4)") {
  const safetensors_file gold(fs::path(LOWBIT_TEST_DATA_DIR) / "affine_f16.safetensors");
  const auto dir = lowbit_test::scratch("model_golden");
  const std::vector<tensor_spec> specs{{"m.weight", dtype::U32, gold.at("b4_gs64.wq").shape},
                                       {"m.scales", dtype::F16, gold.at("b4_gs64.scales").shape},
                                       {"m.biases", dtype::F16, gold.at("b4_gs64.biases").shape}};
  safetensors_writer w(dir / "model.safetensors", specs);
  w.write("m.weight", gold.bytes("b4_gs64.wq"));
  w.write("m.scales", gold.bytes("b4_gs64.scales"));
  w.write("m.biases", gold.bytes("b4_gs64.biases"));
  w.finish();
  lowbit_test::write_file(dir / "config.json", q4);
  const checkpoint ck(dir);
  const auto plan = plan_model(ck, read_model_config(dir));
  REQUIRE(plan.size() == 1);
  const auto& p = plan[0];
  const auto packed = p.weight.file->typed_view<std::uint32_t>(*p.weight, dtype::U32);
  const auto sc = p.scales.file->typed_view<lowbit::f16>(*p.scales, dtype::F16);
  const auto bi = p.biases.file->typed_view<lowbit::f16>(*p.biases, dtype::F16);
  std::vector<lowbit::f16> out(p.numel());
  lowbit::dequantize(
      lowbit::qmatrix<lowbit::f16>{packed.data(), sc.data(), bi.data(), p.rows, p.cols, p.format},
      out.data());
  const auto expect = gold.bytes("b4_gs64.deq");
  REQUIRE(expect.size() == out.size() * 2);
  CHECK(std::memcmp(expect.data(), out.data(), expect.size()) == 0);
}
