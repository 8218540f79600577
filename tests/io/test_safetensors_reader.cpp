// safetensors_file: reading valid files (hand-made and MLX-made) and rejecting bad ones.
#include <doctest/doctest.h>
#include <lowbit/io/safetensors.hpp>

#include <cstring>

#include "io_test_util.hpp"

using namespace lowbit::io;
using lowbit_test::safetensors_bytes;
using lowbit_test::scratch;
using lowbit_test::write_file;

namespace {

std::string error_of(const std::filesystem::path& p) {
  try {
    safetensors_file f(p);
  } catch (const lowbit::error& e) {
    return e.what();
  }
  return "";
}

// Writes `bytes` to a scratch file and returns the error message the reader gives for it.
std::string error_for(std::string_view name, const std::string& bytes) {
  const auto p = scratch("reader_bad") / (std::string(name) + ".safetensors");
  write_file(p, bytes);
  return error_of(p);
}

}  // namespace

TEST_CASE("reads a hand-made file: dtypes, shapes, metadata, header order is free") {
  // b is listed first in the header but stored second; a is 2x3 F32, b is 2 U16 at odd offset 24+.
  const std::string header = R"({"b":{"dtype":"U16","shape":[2],"data_offsets":[24,28]},)"
                             R"("__metadata__":{"format":"mlx","k":"v"},)"
                             R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";
  std::string data(28, '\0');
  const float a[6] = {1, 2, 3, 4, 5, -6};
  const std::uint16_t b[2] = {0xBEEF, 7};
  std::memcpy(data.data(), a, 24);
  std::memcpy(data.data() + 24, b, 4);
  const auto p = scratch("reader_ok") / "x.safetensors";
  write_file(p, safetensors_bytes(header, data));

  safetensors_file f(p);
  REQUIRE(f.tensors().size() == 2);
  CHECK(f.tensors()[0].name == "a");  // data-offset order
  CHECK(f.tensors()[1].name == "b");
  CHECK(f.metadata().at("format") == "mlx");
  CHECK(f.metadata().at("k") == "v");
  const auto& ta = f.at("a");
  CHECK(ta.type == dtype::F32);
  CHECK(ta.shape == std::vector<std::size_t>{2, 3});
  CHECK(ta.numel() == 6);
  CHECK(f.find("nope") == nullptr);
  CHECK_THROWS_WITH_AS(f.at("nope"), doctest::Contains("no tensor 'nope'"), lowbit::error);
  const auto va = f.data<float>("a");
  REQUIRE(va.size() == 6);
  CHECK(va[5] == -6.0f);
  const auto vb = f.data<std::uint16_t>("b", dtype::U16);
  CHECK(vb[0] == 0xBEEF);
  CHECK(vb[1] == 7);
  CHECK(reinterpret_cast<std::uintptr_t>(va.data()) % alignof(float) == 0);
  CHECK(f.bytes(f.at("b")).size() == 4);
  CHECK_THROWS_WITH_AS(f.data<float>("b", dtype::F32), doctest::Contains("is U16, expected F32"),
                       lowbit::error);
  CHECK_THROWS_AS(f.data<std::uint32_t>("b", dtype::U16), lowbit::error);

  safetensors_file g = std::move(f);  // move-only, the mapping moves with it
  CHECK(g.data<float>("a")[0] == 1.0f);
}

TEST_CASE("misaligned data sections are copied to aligned storage, values intact") {
  // Header of odd length: the data section starts at an odd address.
  std::string header = R"({"w":{"dtype":"F64","shape":[3],"data_offsets":[0,24]}})";
  if ((8 + header.size()) % 2 == 0) header += ' ';  // trailing whitespace is valid JSON
  REQUIRE((8 + header.size()) % 2 == 1);
  std::string data(24, '\0');
  const double w[3] = {0.5, -1.25, 1e300};
  std::memcpy(data.data(), w, 24);
  const auto p = scratch("reader_misaligned") / "x.safetensors";
  write_file(p, safetensors_bytes(header, data));
  safetensors_file f(p);
  const auto v = f.data<double>("w");
  CHECK(reinterpret_cast<std::uintptr_t>(v.data()) % alignof(double) == 0);
  CHECK(v[0] == 0.5);
  CHECK(v[1] == -1.25);
  CHECK(v[2] == 1e300);
  CHECK(f.data<double>("w").data() == v.data());  // copied once
}

TEST_CASE("reads MLX-written golden files") {
  safetensors_file f(std::filesystem::path(LOWBIT_TEST_DATA_DIR) / "affine_f32.safetensors");
  CHECK(f.tensors().size() == 96);
  CHECK(f.metadata().count("mlx_version") == 1);
  const auto& w = f.at("w");
  CHECK(w.type == dtype::F32);
  CHECK(w.shape == std::vector<std::size_t>{64, 256});
  const auto& wq = f.at("b3_gs64.wq");
  CHECK(wq.type == dtype::U32);
  CHECK(wq.shape == std::vector<std::size_t>{64, 24});
  CHECK(f.data<std::uint32_t>("b3_gs64.wq").size() == 64 * 24);
  // Row 3 of w is the constant 0.3 in columns 0..127 (tests/data/README.md).
  CHECK(f.data<float>("w")[3 * 256 + 17] == 0.3f);
  safetensors_file h(std::filesystem::path(LOWBIT_TEST_DATA_DIR) / "affine_bf16.safetensors");
  CHECK(h.at("w").type == dtype::BF16);
  CHECK(static_cast<float>(h.data<lowbit::bf16>("w")[3 * 256 + 17]) ==
        static_cast<float>(lowbit::bf16(0.3f)));
}

TEST_CASE("empty file set: a header with no tensors and no data is valid") {
  const auto p = scratch("reader_empty") / "x.safetensors";
  write_file(p, safetensors_bytes("{}", ""));
  safetensors_file f(p);
  CHECK(f.tensors().empty());
}

TEST_CASE("bad files are rejected with a message naming the problem") {
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data8(8, '\1');
  CHECK(error_for("ok", safetensors_bytes(ok_header, data8)).empty());

  CHECK(error_of(scratch("reader_bad") / "does_not_exist.safetensors").find("cannot open") !=
        std::string::npos);
  CHECK(error_for("empty", "").find("too short") != std::string::npos);
  CHECK(error_for("short", "abc").find("too short") != std::string::npos);
  // Truncated: the data section is shorter than the header says.
  CHECK(error_for("truncated", safetensors_bytes(ok_header, data8.substr(0, 5))).find("truncated") !=
        std::string::npos);
  CHECK(error_for("trailing", safetensors_bytes(ok_header, data8 + "xx")).find("trailing") !=
        std::string::npos);
  CHECK(error_for("len_past_eof", safetensors_bytes(ok_header, data8, 100000)).find("past the end") !=
        std::string::npos);
  CHECK(error_for("len_huge", safetensors_bytes(ok_header, data8, 200'000'000)).find("exceeds the limit") !=
        std::string::npos);
  CHECK(error_for("len_max", safetensors_bytes(ok_header, data8, ~0ull - 1)).find("exceeds the limit") !=
        std::string::npos);
  CHECK(error_for("not_object", safetensors_bytes("[1,2]", "")).find("start with '{'") != std::string::npos);
  CHECK(error_for("bad_json", safetensors_bytes(R"({"a":{"dtype":"F32",)", "")).find("invalid JSON") !=
        std::string::npos);
  CHECK(error_for("bad_json2", safetensors_bytes(R"({"a" 1})", "")).find("invalid JSON") !=
        std::string::npos);
  CHECK(error_for("trailing_json", safetensors_bytes(R"({} {})", "")).find("invalid JSON") !=
        std::string::npos);
  CHECK(error_for("unknown_dtype",
                  safetensors_bytes(R"({"a":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}})", data8))
            .find("unknown dtype 'F17'") != std::string::npos);
  CHECK(error_for("size_mismatch",
                  safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8))
            .find("needs 12 bytes") != std::string::npos);
  CHECK(error_for("reversed",
                  safetensors_bytes(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}})", data8))
            .find("reversed") != std::string::npos);
  CHECK(error_for("out_of_range",
                  safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[1000,1008]}})", data8))
            .find("gap") != std::string::npos);
  CHECK(error_for("overlap", safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                               R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                               data8))
            .find("overlap") != std::string::npos);
  CHECK(
      error_for("gap", safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data8))
          .find("gap") != std::string::npos);
  CHECK(error_for("overflow",
                  safetensors_bytes(
                      R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", data8))
            .find("overflow") != std::string::npos);
  CHECK(error_for("overflow_bytes",
                  safetensors_bytes(
                      R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", data8))
            .find("overflow") != std::string::npos);
  CHECK(error_for("negative",
                  safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8))
            .find("negative") != std::string::npos);
  CHECK(error_for("float_dim",
                  safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", data8))
            .find("non-integer") != std::string::npos);
  CHECK(error_for("missing_field", safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2]}})", data8))
            .find("needs 'dtype'") != std::string::npos);
  CHECK(error_for("extra_field",
                  safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", data8))
            .find("unknown field 'x'") != std::string::npos);
  CHECK(error_for("dup", safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                           R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                           data8))
            .find("duplicate key 'a'") != std::string::npos);
  CHECK(error_for("meta_not_string", safetensors_bytes(R"({"__metadata__":{"a":1}})", ""))
            .find("expected a string") != std::string::npos);
  CHECK(error_for("three_offsets",
                  safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", data8))
            .find("more than 2") != std::string::npos);
  CHECK(error_for("deep",
                  safetensors_bytes(R"({"a":{"dtype":"F32","shape":[[[[2]]]],"data_offsets":[0,8]}})", data8))
            .find("wrong type") != std::string::npos);
  CHECK(
      error_for("f4_odd", safetensors_bytes(R"({"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", "ab"))
          .find("whole bytes") != std::string::npos);
  // Every message names the file.
  CHECK(error_for("named", safetensors_bytes("[", "")).find("named.safetensors") != std::string::npos);
}

TEST_CASE("sub-byte F4 tensors: size checked in bits") {
  const auto p = scratch("reader_f4") / "x.safetensors";
  write_file(p, safetensors_bytes(R"({"a":{"dtype":"F4","shape":[2,3],"data_offsets":[0,3]}})", "abc"));
  safetensors_file f(p);
  CHECK(f.at("a").nbytes() == 3);
  CHECK_THROWS_AS(dtype_size(dtype::F4), lowbit::error);
  CHECK(dtype_size(dtype::BF16) == 2);
  CHECK(to_string(dtype::F8_E4M3) == "F8_E4M3");
  CHECK(parse_dtype("F8_E8M0") == dtype::F8_E8M0);
}
