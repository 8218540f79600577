// numpy's legacy np.random.RandomState(seed), the generator sklearn's KMeans
// draws from (check_random_state(random_state=0) in coremltools' call): so
// kmeans_lloyd makes the same draws as coremltools' sklearn path.
//   seed:            MT19937 init_genrand(seed), which std::mt19937 also uses;
//   randint(n):      32-bit draws masked to the smallest 2^b - 1 >= n - 1,
//                    rejected while > n - 1 (numpy's masked bounded fill);
//   random_sample(): (a >> 5, b >> 6) of two draws as a 53-bit double
//                    (mt19937_next_double), which uniform(0, 1) returns as is.
// Checked against numpy 1.24 (tests/test_lut_kmeans.cpp has its outputs).
#pragma once

#include <cstdint>
#include <random>

#include "lowbit/core/error.hpp"

namespace lowbit::detail {

class numpy_random_state {
 public:
  explicit numpy_random_state(std::uint64_t seed) : mt_(static_cast<std::uint32_t>(seed)) {
    if (seed > 0xffffffffu) fail("numpy_random_state: seed {} must be below 2^32 (as numpy's)", seed);
  }

  /// Uniform integer in [0, n), 1 <= n <= 2^32.
  std::uint32_t randint(std::uint64_t n) {
    if (n == 0 || n > 0x100000000ull) fail("numpy_random_state: randint range {} not in [1, 2^32]", n);
    const auto max = static_cast<std::uint32_t>(n - 1);
    if (max == 0) return 0;  // numpy returns without a draw
    std::uint32_t mask = max;
    for (int s = 1; s < 32; s <<= 1) mask |= mask >> s;
    std::uint32_t v;
    while ((v = static_cast<std::uint32_t>(mt_()) & mask) > max) {
    }
    return v;
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double random_sample() {
    const auto a = static_cast<std::uint32_t>(mt_()) >> 5, b = static_cast<std::uint32_t>(mt_()) >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }

 private:
  std::mt19937 mt_;
};

}  // namespace lowbit::detail
