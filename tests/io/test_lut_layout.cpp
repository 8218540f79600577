// The palettized safetensors layout (io/lut_layout.hpp): shapes in, logical shape and format
// out, and every inconsistent pair rejected with the tensor name and both shapes.
#include <doctest/doctest.h>

#include <lowbit/io/lut_layout.hpp>

#include <string>
#include <vector>

using lowbit::io::dtype;
using shape = std::vector<std::size_t>;

namespace {

std::string error_of(dtype wt, const shape& w, dtype lt, const shape& l) {
  lowbit::lut_format f;
  try {
    (void)lowbit::io::lut_logical_shape("'m.weight'", wt, w, lt, l, f);
  } catch (const lowbit::error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("lut layout: shapes give bits, group and the logical shape") {
  lowbit::lut_format f;
  // 4-bit, 256 cols = 128 bytes per row, 32 tables of 8 rows.
  CHECK(lowbit::io::lut_logical_shape("w", dtype::U8, {256, 128}, dtype::F16, {32, 16}, f) ==
        shape{256, 256});
  CHECK(f.bits == 4);
  CHECK(f.group_size == 8);
  // 6-bit stacked experts [4, 64, 96 bytes] = [4, 64, 128], one table per expert (per tensor).
  CHECK(lowbit::io::lut_logical_shape("w", dtype::U8, {4, 64, 96}, dtype::F32, {4, 1, 64}, f) ==
        shape{4, 64, 128});
  CHECK(f.bits == 6);
  CHECK(f.group_size == 0);
  // The writer's shapes invert the reader's.
  const lowbit::lut_format g{3, 16};
  CHECK(lowbit::io::lut_index_shape({2}, 32, 64, g) == shape{2, 32, 24});
  CHECK(lowbit::io::lut_table_shape({2}, 32, g) == shape{2, 2, 8});
}

TEST_CASE("lut layout: inconsistent pairs are rejected naming the tensor and shapes") {
  CHECK(error_of(dtype::U32, {256, 128}, dtype::F16, {32, 16}).find("expected U8") != std::string::npos);
  CHECK(error_of(dtype::U8, {256, 128}, dtype::I8, {32, 16}).find("F16, F32 or BF16") != std::string::npos);
  CHECK(error_of(dtype::U8, {256, 128}, dtype::F16, {32, 12}).find("12 entries") != std::string::npos);
  const auto e = error_of(dtype::U8, {256, 128}, dtype::F16, {16, 32});  // 5-bit: 1024 bits not / 5
  CHECK(e.find("'m.weight' [256, 128] does not match its LUT [16, 32]") != std::string::npos);
  CHECK(!error_of(dtype::U8, {256, 128}, dtype::F16, {48, 16}).empty());        // 48 groups do not divide 256
  CHECK(!error_of(dtype::U8, {2, 256, 128}, dtype::F16, {3, 32, 16}).empty());  // expert count differs
  CHECK(!error_of(dtype::U8, {256, 128}, dtype::F16, {16}).empty());            // rank differs
  CHECK(!error_of(dtype::U8, {256, 128}, dtype::F16, {0, 16}).empty());         // no tables
}

TEST_CASE("lut layout: config.json lut_quantization, per-module overrides and false") {
  const auto cfg = nlohmann::ordered_json::parse(
      R"({"lut_quantization": {"bits": 4, "group_size": 8, "method": "kmeans_optimal",
          "a.v_proj": {"bits": 6, "group_size": 0}, "a.gate": false}})");
  CHECK(lowbit::io::lut_format_for(cfg, "a.q_proj")->bits == 4);
  CHECK(lowbit::io::lut_format_for(cfg, "a.v_proj")->bits == 6);
  CHECK(lowbit::io::lut_format_for(cfg, "a.v_proj")->group_size == 0);
  CHECK(!lowbit::io::lut_format_for(cfg, "a.gate"));
  CHECK(!lowbit::io::lut_format_for(nlohmann::ordered_json::object(), "a.q_proj"));
  CHECK_THROWS_AS(
      lowbit::io::lut_format_for(nlohmann::ordered_json::parse(R"({"lut_quantization": {"bits": 9}})"), "x"),
      lowbit::error);
  const auto j =
      lowbit::io::lut_quantization_json({4, 8}, "kmeans_optimal", {{"a.v_proj", lowbit::lut_format{6, 0}}});
  CHECK(j.dump() ==
        R"({"bits":4,"group_size":8,"method":"kmeans_optimal","a.v_proj":{"bits":6,"group_size":0}})");
}
