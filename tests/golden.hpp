// Access to the MLX golden vectors in tests/data (made by MLX's own CPU
// backend; see tests/data/README.md), plus comparison helpers.
#pragma once

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/core/half.hpp"
#include "lowbit/io/safetensors.hpp"

namespace golden {

class file {
 public:
  explicit file(const std::string& name) : f_(std::string(LOWBIT_TEST_DATA_DIR) + "/" + name) {}
  template <class T>
  std::vector<T> get(const std::string& name) const {
    const auto s = f_.data<T>(name);
    return {s.begin(), s.end()};
  }
  std::vector<std::size_t> shape(const std::string& name) const { return f_.at(name).shape; }
  bool has(const std::string& name) const { return f_.find(name) != nullptr; }

 private:
  lowbit::io::safetensors_file f_;
};

/// Bit pattern of a float-like storage value, so comparisons are bit-exact
/// (and -0 != +0).
inline std::uint32_t bits_of(float v) { return std::bit_cast<std::uint32_t>(v); }
inline std::uint32_t bits_of(lowbit::f16 v) { return v.bits; }
inline std::uint32_t bits_of(lowbit::bf16 v) { return v.bits; }
inline std::uint32_t bits_of(std::uint32_t v) { return v; }
inline std::uint32_t bits_of(std::uint8_t v) { return v; }

/// Number of positions whose bit patterns differ (reports the first one).
template <class A, class B>
std::size_t count_bit_mismatches(const std::vector<A>& got, const std::vector<B>& want,
                                 const std::string& what) {
  REQUIRE_MESSAGE(got.size() == want.size(), what << ": size " << got.size() << " != " << want.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (bits_of(got[i]) != bits_of(want[i])) {
      if (bad == 0)
        MESSAGE(what << ": first mismatch at " << i << ": got 0x" << std::hex << bits_of(got[i]) << " want 0x"
                     << bits_of(want[i]) << std::dec);
      ++bad;
    }
  }
  return bad;
}

}  // namespace golden
