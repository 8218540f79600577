// The LSB-first bit stream shared by every MLX format, checked against MLX's
// own byte-level unpacking formulas (research/mlx.md §1.1) and by round trips.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "lowbit/format/bitstream.hpp"

namespace {
std::vector<std::uint8_t> random_codes(std::size_t n, int bits, std::mt19937& rng) {
  std::vector<std::uint8_t> c(n);
  for (auto& v : c) v = static_cast<std::uint8_t>(rng() & ((1u << bits) - 1u));
  return c;
}
std::vector<std::uint8_t> as_bytes(const std::vector<std::uint32_t>& words) {
  std::vector<std::uint8_t> b(words.size() * 4);
  for (std::size_t i = 0; i < words.size(); ++i)
    for (int k = 0; k < 4; ++k)
      b[4 * i + k] = static_cast<std::uint8_t>(words[i] >> (8 * k));  // little-endian
  return b;
}
}  // namespace

TEST_CASE("pack/unpack round trip for every width 1..8, odd lengths") {
  std::mt19937 rng(1);
  for (int bits = 1; bits <= 8; ++bits)
    for (std::size_t n : {1u, 7u, 31u, 32u, 33u, 96u, 257u}) {
      const auto codes = random_codes(n, bits, rng);
      std::vector<std::uint32_t> words((n * bits + 31) / 32 + 1, 0xdeadbeef);
      lowbit::pack_codes(codes.data(), n, bits, words.data());
      CHECK(words.back() == 0xdeadbeef);  // never writes past ceil(n*bits/32) words
      std::vector<std::uint8_t> back(n);
      lowbit::unpack_codes(words.data(), n, bits, back.data());
      CHECK(back == codes);
    }
}

TEST_CASE("power-of-two widths: element k of a word sits at bits [k*b, k*b+b)") {
  std::mt19937 rng(2);
  for (int bits : {2, 4, 8}) {
    const auto codes = random_codes(64, bits, rng);
    std::vector<std::uint32_t> words(64 * bits / 32);
    lowbit::pack_codes(codes.data(), 64, bits, words.data());
    const int pf = 32 / bits;
    for (std::size_t j = 0; j < 64; ++j)
      CHECK(((words[j / pf] >> ((j % pf) * bits)) & ((1u << bits) - 1)) == codes[j]);
  }
}

TEST_CASE("3-bit: MLX's 8-values-in-3-bytes unpacking formula") {
  std::mt19937 rng(3);
  const auto codes = random_codes(256, 3, rng);
  std::vector<std::uint32_t> words(24);
  lowbit::pack_codes(codes.data(), 256, 3, words.data());
  const auto b = as_bytes(words);
  for (std::size_t p = 0; p < 32; ++p) {
    const std::uint8_t b0 = b[3 * p], b1 = b[3 * p + 1], b2 = b[3 * p + 2];
    const int v[8] = {b0 & 7,        (b0 >> 3) & 7, (b0 >> 6) | ((b1 & 1) << 2),
                      (b1 >> 1) & 7, (b1 >> 4) & 7, (b1 >> 7) | ((b2 & 3) << 1),
                      (b2 >> 2) & 7, b2 >> 5};
    for (int k = 0; k < 8; ++k) CHECK(v[k] == codes[8 * p + k]);
  }
}

TEST_CASE("5-bit and 6-bit packs are little-endian integers of 5 and 3 bytes") {
  std::mt19937 rng(4);
  for (int bits : {5, 6}) {
    const int per_pack = bits == 5 ? 8 : 4, bytes = bits == 5 ? 5 : 3;
    const auto codes = random_codes(128, bits, rng);
    std::vector<std::uint32_t> words(128 * bits / 32);
    lowbit::pack_codes(codes.data(), 128, bits, words.data());
    const auto b = as_bytes(words);
    for (std::size_t p = 0; p < 128 / static_cast<std::size_t>(per_pack); ++p) {
      std::uint64_t pack = 0;
      for (int k = 0; k < bytes; ++k) pack |= static_cast<std::uint64_t>(b[p * bytes + k]) << (8 * k);
      for (int k = 0; k < per_pack; ++k)
        CHECK(((pack >> (k * bits)) & ((1u << bits) - 1)) == codes[p * per_pack + k]);
    }
  }
}
