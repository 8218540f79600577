// FP8 E4M3 tables against MLX's to_fp8 / from_fp8 (tests/data/fp8_e4m3.safetensors).
#include <doctest/doctest.h>

#include <vector>

#include "golden.hpp"
#include "lowbit/core/minifloat.hpp"

TEST_CASE("from_fp8 to f32 / f16 / bf16 matches MLX for all 256 codes") {
  const golden::file g("fp8_e4m3.safetensors");
  const auto codes = g.get<std::uint8_t>("codes");
  REQUIRE(codes.size() == 256);
  std::vector<float> f32;
  std::vector<lowbit::f16> h;
  std::vector<lowbit::bf16> b;
  for (auto c : codes) {
    const float v = lowbit::fp8_e4m3_to_float(c);
    f32.push_back(v);
    h.push_back(lowbit::f16(v));
    b.push_back(lowbit::bf16(v));
  }
  CHECK(golden::count_bit_mismatches(f32, g.get<float>("from_fp8_f32"), "f32") == 0);
  CHECK(golden::count_bit_mismatches(h, g.get<lowbit::f16>("from_fp8_f16"), "f16") == 0);
  CHECK(golden::count_bit_mismatches(b, g.get<lowbit::bf16>("from_fp8_bf16"), "bf16") == 0);
}

TEST_CASE("to_fp8 matches MLX on a sweep of binades and specials (inf, NaN, saturation)") {
  const golden::file g("fp8_e4m3.safetensors");
  const auto in = g.get<float>("to_fp8_in_f32");
  std::vector<std::uint8_t> out;
  for (float v : in) out.push_back(lowbit::float_to_fp8_e4m3(v));
  CHECK(in.size() == 5643);
  CHECK(golden::count_bit_mismatches(out, g.get<std::uint8_t>("to_fp8_out"), "to_fp8") == 0);
}
