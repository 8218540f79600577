// LUT format: the index bit stream against bit-by-bit and hand-written
// CoreML byte formulas, sizes, validation, the CoreML iOS16/iOS18 forms and
// ANEMLL's chunk arithmetic (checked against the numbers its docs print).
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "lowbit/format/lut.hpp"
#include "lowbit/format/lut_anemll.hpp"
#include "lowbit/format/lut_coreml.hpp"

using namespace lowbit;

namespace {
// Independent definition: stream bit p = i*bits + b holds bit b of index i,
// stored at byte p/8, bit p%8 (research/lut.md §2.3).
std::vector<std::uint8_t> pack_bitwise(const std::vector<std::uint8_t>& idx, int bits) {
  std::vector<std::uint8_t> out((idx.size() * bits + 7) / 8, 0);
  for (std::size_t i = 0; i < idx.size(); ++i)
    for (int b = 0; b < bits; ++b) {
      const std::size_t p = i * bits + b;
      if ((idx[i] >> b) & 1) out[p / 8] |= static_cast<std::uint8_t>(1u << (p % 8));
    }
  return out;
}

std::vector<std::uint8_t> random_indices(std::size_t n, int bits, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& x : v) x = static_cast<std::uint8_t>(rng() & ((1u << bits) - 1));
  return v;
}
}  // namespace

TEST_CASE("lut index stream: pack/unpack round trip and bitwise layout for every nbits") {
  for (int bits = 1; bits <= 8; ++bits) {
    for (std::size_t n : {1u, 7u, 8u, 9u, 31u, 64u, 1001u}) {
      CAPTURE(bits);
      CAPTURE(n);
      const auto idx = random_indices(n, bits, 17u * bits + static_cast<unsigned>(n));
      std::vector<std::uint8_t> stream((n * bits + 7) / 8, 0);
      pack_lut_indices(idx.data(), 0, n, bits, stream.data());
      CHECK(stream == pack_bitwise(idx, bits));
      std::vector<std::uint8_t> back(n);
      unpack_lut_indices(stream.data(), 0, n, bits, back.data());
      CHECK(back == idx);
      for (std::size_t i = 0; i < n; ++i) CHECK(lut_index_at(stream.data(), i, bits) == idx[i]);
      // Writing a sub-range keeps the neighbours' bits.
      if (n > 10) {
        std::vector<std::uint8_t> patch(5, static_cast<std::uint8_t>((1u << bits) - 1));
        pack_lut_indices(patch.data(), 3, 5, bits, stream.data());
        auto expect = idx;
        for (int i = 3; i < 8; ++i) expect[i] = patch[0];
        CHECK(stream == pack_bitwise(expect, bits));
      }
    }
  }
}

TEST_CASE("lut index stream: CoreML's byte formulas") {
  const std::vector<std::uint8_t> i4 = {0x1, 0xa, 0xf, 0x3};
  std::vector<std::uint8_t> s4(2, 0);
  pack_lut_indices(i4.data(), 0, 4, 4, s4.data());
  CHECK(s4[0] == (0x1 | 0xa << 4));  // byte[j] = idx[2j] | idx[2j+1] << 4
  CHECK(s4[1] == (0xf | 0x3 << 4));
  const std::vector<std::uint8_t> i2 = {1, 2, 3, 0};
  std::uint8_t s2 = 0;
  pack_lut_indices(i2.data(), 0, 4, 2, &s2);
  CHECK(s2 == (1 | 2 << 2 | 3 << 4 | 0 << 6));
  // 6-bit: 4 indices in 3 bytes; index 1 has its low 2 bits in the top of byte 0.
  const std::vector<std::uint8_t> i6 = {0x3f, 0x2d, 0x01, 0x20};
  std::vector<std::uint8_t> s6(3, 0);
  pack_lut_indices(i6.data(), 0, 4, 6, s6.data());
  CHECK(s6[0] == (0x3f | (0x2d & 0x3) << 6));
  CHECK(s6[1] == ((0x2d >> 2) | (0x01 & 0xf) << 4));
  CHECK(s6[2] == ((0x01 >> 4) | 0x20 << 2));
}

TEST_CASE("lut sizes") {
  const lut_format f4{4, 8};
  CHECK(lut_entries(f4) == 16);
  CHECK(lut_groups(f4, 2048) == 256);
  CHECK(lut_groups(lut_format{4, 0}, 2048, 3) == 3);
  CHECK(lut_index_bytes(f4, 2048, 2048) == 2048u * 2048u / 2);
  CHECK(lut_index_bytes(lut_format{3, 1}, 3, 3) == 4);  // 27 bits
  CHECK(lut_tensor_bytes(f4, 2048, 2048) == 2048u * 2048u / 2 + 256u * 16 * 2);
  CHECK(lut_tensor_bytes(f4, 16, 4, 2, 4, lut_channel_scale::input_columns) ==
        2 * 16 * 4 / 2 + (4 * 16 + 8) * 4);
  CHECK(lut_bits_per_weight(f4, 2048, 2048) == doctest::Approx(4.015625));  // lut_anchor.md W1 g8
  CHECK(lut_bits_per_weight(lut_format{6, 8}, 4096, 1024) == doctest::Approx(6.125));
}

TEST_CASE("lut validation messages") {
  CHECK_THROWS_WITH_AS(validate(lut_format{9, 8}), "lut_format: unsupported bits 9 (supported: 1..8)", error);
  CHECK_THROWS_WITH_AS(validate(lut_format{0, 8}), "lut_format: unsupported bits 0 (supported: 1..8)", error);
  CHECK_THROWS_WITH_AS(validate_lut_shape(lut_format{4, 8}, 12, 4, 1, "f"),
                       "f: rows 12 is not a multiple of the LUT group_size 8 (output rows per LUT)", error);
  CHECK_THROWS_AS(validate_lut_shape(lut_format{4, 8}, 0, 4, 1, "f"), error);
  CHECK_NOTHROW(validate_lut_shape(lut_format{4, 0}, 12, 4, 1, "f"));
  const std::uint8_t idx[1] = {};
  const float lut[16] = {};
  lut_matrix<float> w{idx, lut, 1, 1, {4, 0}};
  w.channel_scale = lut_channel_scale::output_rows;
  CHECK_THROWS_WITH_AS(validate(w, "g"), "g: channel_scale output_rows needs a scales pointer", error);
  CHECK(coreml_ios18_bits(3));
  CHECK_FALSE(coreml_ios16_bits(3));
  CHECK_FALSE(coreml_ios18_bits(5));
}

TEST_CASE("CoreML iOS16 form: writer and reader") {
  const std::size_t rows = 3, cols = 5;  // 15 six-bit indices = 90 bits -> 12 bytes, 6 tail bits
  const auto idx = random_indices(rows * cols, 6, 5);
  std::vector<std::uint8_t> stream(12, 0);
  pack_lut_indices(idx.data(), 0, idx.size(), 6, stream.data());
  stream.back() |= 0xc0;  // garbage in the tail bits: the writer must clear them
  std::vector<float> lut(64);
  for (int i = 0; i < 64; ++i) lut[i] = static_cast<float>(63 - i);  // descending: not sorted
  const lut_matrix<float> w{stream.data(), lut.data(), rows, cols, {6, 0}};
  const auto ios16 = to_coreml_ios16(w, {3, 5, 1, 1});
  CHECK(ios16.indices.size() == 12);
  CHECK(ios16.indices == pack_bitwise(idx, 6));
  CHECK(ios16.lut == lut);
  CHECK(ios16.shape == std::vector<std::uint32_t>{3, 5, 1, 1});

  const auto back = from_coreml_ios16(ios16.indices.data(), ios16.indices.size(), ios16.lut.data(),
                                      ios16.lut.size(), ios16.shape.data(), ios16.shape.size());
  CHECK(back.rows == 3);
  CHECK(back.cols == 5);
  CHECK(back.format.bits == 6);
  CHECK(back.format.group_size == 0);
  for (std::size_t i = 0; i < idx.size(); ++i) CHECK(lut_index_at(back.indices, i, 6) == idx[i]);

  const std::uint32_t shape[2] = {3, 5};
  CHECK_THROWS_AS(from_coreml_ios16(ios16.indices.data(), 11, lut.data(), 64, shape, 2),
                  error);  // short buffer
  CHECK_THROWS_AS(from_coreml_ios16(ios16.indices.data(), 12, lut.data(), 8, shape, 2), error);  // 3-bit
  CHECK_THROWS_AS(from_coreml_ios16(ios16.indices.data(), 12, lut.data(), 63, shape, 2), error);
  std::vector<float> lut2(128);
  const lut_matrix<float> grouped{stream.data(), lut2.data(), 2, 5, {6, 1}};
  CHECK_THROWS_AS(to_coreml_ios16(grouped), error);  // per tensor only
  const lut_matrix<float> three{stream.data(), lut.data(), 3, 5, {3, 0}};
  CHECK_THROWS_AS(to_coreml_ios16(three), error);
}

TEST_CASE("CoreML iOS18 form: LUT shape and reader") {
  CHECK(coreml_ios18_lut_shape(lut_format{4, 8}, 64, 4) == std::vector<std::size_t>{8, 1, 1, 1, 16, 1});
  CHECK(coreml_ios18_lut_shape(lut_format{6, 0}, 64, 2) == std::vector<std::size_t>{1, 1, 64, 1});
  std::vector<std::uint8_t> stream(64 * 3 / 2);
  std::vector<float> lut(8 * 16);
  const std::uint32_t shape[4] = {64, 3, 1, 1};
  const std::size_t ls[6] = {8, 1, 1, 1, 16, 1};
  const auto w = from_coreml_ios18(stream.data(), stream.size(), lut.data(), ls, shape, 4);
  CHECK(w.rows == 64);
  CHECK(w.cols == 3);
  CHECK(w.format.bits == 4);
  CHECK(w.format.group_size == 8);
  const std::size_t vec[6] = {8, 1, 1, 1, 16, 2};
  CHECK_THROWS_AS(from_coreml_ios18(stream.data(), stream.size(), lut.data(), vec, shape, 4), error);
  const std::size_t bad[6] = {7, 1, 1, 1, 16, 1};
  CHECK_THROWS_AS(from_coreml_ios18(stream.data(), stream.size(), lut.data(), bad, shape, 4), error);
}

TEST_CASE("ANEMLL chunk estimate: Qwen3-4B at LUT6 is --chunk 4 (docs/calc_chunk_split.md)") {
  decoder_layer_dims qwen3_4b;
  qwen3_4b.hidden = 2560;
  qwen3_4b.intermediate = 9728;
  qwen3_4b.heads = 32;
  qwen3_4b.kv_heads = 8;
  qwen3_4b.head_dim = 128;
  qwen3_4b.qk_norm = true;
  const std::size_t params = anemll_layer_params(qwen3_4b);
  CHECK(params == 100930816u);  // 192.5 MiB of fp16 per layer
  CHECK(anemll_chunk_count(qwen3_4b, 36, 6) == 4);
  // By hand: 3 chunks of 12 layers -> int(12 * 2 * params * 0.375 * 1.1) = 999,215,078 > 950 MiB.
  const std::vector<std::uint64_t> layers(36, 2 * params);
  CHECK(anemll_chunk_estimate_bytes(anemll_largest_chunk_fp16_bytes(layers.data(), 36, 3), 6) == 999215078u);
  CHECK(anemll_lut_ratio(4) == 0.25);
  CHECK(anemll_lut_ratio(16) == 1.0);
  CHECK(anemll_lut_ratio(0) == 1.0);
  // Balanced split: 10 layers in 4 chunks = 3+3+2+2.
  std::vector<std::uint64_t> ten(10);
  for (int i = 0; i < 10; ++i) ten[i] = 1u << i;
  CHECK(anemll_largest_chunk_fp16_bytes(ten.data(), 10, 4) == (1u << 8) + (1u << 9));
  CHECK(anemll_chunk_count(ten.data(), 10, 16, 0) == 10);  // nothing fits: n_layers
  CHECK_THROWS_AS(anemll_layer_params(decoder_layer_dims{}), error);
}
