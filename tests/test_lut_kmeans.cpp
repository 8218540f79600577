// The 1-D k-means solvers against independent references: exhaustive
// enumeration of every partition (tiny n), a plain O(k n^2) dynamic program
// in long double with no pruning (larger n), and Lloyd's defining property
// (every value sits with its nearest center) and its relation to the optimum.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lowbit/quant/lut_kmeans1d.hpp"
#include "lowbit/quant/lut_lloyd.hpp"
#include "lowbit/quant/lut_numpy_rng.hpp"

using namespace lowbit;

namespace {

struct instance {
  std::vector<double> x, w;
};

/// Sorted distinct values with positive weights; some runs of close values
/// and integer weights so that ties between partitions occur.
instance random_instance(std::mt19937_64& rng, std::size_t n, bool integer_values) {
  std::vector<double> v;
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::uniform_int_distribution<int> iv(-3 * static_cast<int>(n), 3 * static_cast<int>(n));
  while (v.size() < n) {
    const double x = integer_values ? iv(rng) : u(rng) * std::exp(2 * u(rng));
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  }
  std::sort(v.begin(), v.end());
  instance in;
  in.x = v;
  std::uniform_int_distribution<int> wd(1, 5);
  for (std::size_t i = 0; i < n; ++i) in.w.push_back(integer_values ? wd(rng) : 0.25 + u(rng) * u(rng));
  for (auto& w : in.w) w = std::fabs(w) + 0.01;
  return in;
}

long double interval_cost(const instance& in, std::size_t b, std::size_t e) {
  long double sw = 0, swx = 0;
  for (std::size_t i = b; i < e; ++i) sw += in.w[i], swx += in.w[i] * in.x[i];
  const long double mean = swx / sw;
  long double c = 0;
  for (std::size_t i = b; i < e; ++i) c += in.w[i] * (in.x[i] - mean) * (in.x[i] - mean);
  return c;
}

/// Minimum over all ways to cut n values into k non-empty runs.
long double exhaustive(const instance& in, std::size_t k) {
  const std::size_t n = in.x.size();
  long double best = std::numeric_limits<long double>::infinity();
  std::vector<std::size_t> cut(k);  // cut[c] = end of run c
  auto rec = [&](auto&& self, std::size_t c, std::size_t start) -> void {
    if (c == k - 1) {
      cut[c] = n;
      long double total = 0;
      for (std::size_t d = 0, b = 0; d < k; b = cut[d], ++d) total += interval_cost(in, b, cut[d]);
      best = std::min(best, total);
      return;
    }
    for (std::size_t e = start + 1; e + (k - 1 - c) <= n; ++e) {
      cut[c] = e;
      self(self, c + 1, e);
    }
  };
  rec(rec, 0, 0);
  return best;
}

/// Textbook DP, every split tried, prefix sums in long double.
long double plain_dp(const instance& in, std::size_t k) {
  const std::size_t n = in.x.size();
  std::vector<long double> W(n + 1, 0), S(n + 1, 0), Q(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    W[i + 1] = W[i] + in.w[i];
    S[i + 1] = S[i] + in.w[i] * in.x[i];
    Q[i + 1] = Q[i] + in.w[i] * in.x[i] * in.x[i];
  }
  auto cost = [&](std::size_t j, std::size_t i) {
    const long double s = S[i] - S[j];
    return Q[i] - Q[j] - s * s / (W[i] - W[j]);
  };
  const long double inf = std::numeric_limits<long double>::infinity();
  std::vector<long double> prev(n + 1, inf), cur(n + 1, inf);
  for (std::size_t i = 1; i <= n; ++i) prev[i] = cost(0, i);
  for (std::size_t m = 2; m <= k; ++m) {
    std::fill(cur.begin(), cur.end(), inf);
    for (std::size_t i = m; i <= n; ++i)
      for (std::size_t j = m - 1; j < i; ++j) cur[i] = std::min(cur[i], prev[j] + cost(j, i));
    std::swap(prev, cur);
  }
  return prev[n];
}

/// Double rounding in the DP is relative to the data's total energy, not to
/// the (possibly tiny) optimum, so comparisons allow 1e-12 of sum w x^2.
long double slack(const instance& in) {
  long double e = 0;
  for (std::size_t i = 0; i < in.x.size(); ++i) e += in.w[i] * in.x[i] * in.x[i];
  return 1e-12L * e + 1e-300L;
}

double solve(const instance& in, std::size_t k, std::vector<std::size_t>& ends) {
  detail::kmeans1d_workspace ws;
  ends.assign(k, 0);
  return detail::kmeans1d_optimal(in.x.data(), in.w.data(), in.x.size(), k, ws, ends.data());
}

void check_partition(const std::vector<std::size_t>& ends, std::size_t n) {
  for (std::size_t c = 0; c < ends.size(); ++c) CHECK(ends[c] > (c == 0 ? 0 : ends[c - 1]));
  CHECK(ends.back() == n);
}

}  // namespace

TEST_CASE("kmeans_optimal equals exhaustive search over all partitions (n <= 11)") {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 120; ++trial) {
    const std::size_t n = 1 + trial % 11;
    const auto in = random_instance(rng, n, trial % 2 == 0);
    for (std::size_t k = 1; k <= n; ++k) {
      CAPTURE(trial);
      CAPTURE(k);
      std::vector<std::size_t> ends;
      const double got = solve(in, k, ends);
      check_partition(ends, n);
      const long double want = exhaustive(in, k);
      const double direct = detail::kmeans1d_partition_cost(in.x.data(), in.w.data(), k, ends.data());
      CHECK(static_cast<long double>(direct) <= want + slack(in));
      CHECK(std::fabs(got - want) <= 1e-9L * want + slack(in));
    }
  }
}

TEST_CASE("kmeans_optimal equals an unpruned O(k n^2) DP (n up to 400, ties included), every ISA") {
  for (const auto& [isa, fn] : detail::kmeans1d_impl::solvers()) {
    const std::string isa_name = isa;
    CAPTURE(isa_name);
    detail::kmeans1d_impl::pinned_solver().store(fn);
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 60; ++trial) {
      const std::size_t n = 12 + static_cast<std::size_t>(rng() % 389);
      const auto in = random_instance(rng, n, trial % 3 == 0);
      for (std::size_t k : {2u, 3u, 4u, 8u, 16u, 64u}) {
        if (k > n) continue;
        CAPTURE(trial);
        CAPTURE(n);
        CAPTURE(k);
        std::vector<std::size_t> ends;
        solve(in, k, ends);
        check_partition(ends, n);
        const long double want = plain_dp(in, k);
        const long double got = detail::kmeans1d_partition_cost(in.x.data(), in.w.data(), k, ends.data());
        CHECK(got <= want + slack(in));
      }
    }
  }
  detail::kmeans1d_impl::pinned_solver().store(nullptr);
}

TEST_CASE("kmeans_optimal on a larger instance (n = 3000, k = 16 and 64)") {
  std::mt19937_64 rng(99);
  instance in;
  std::student_t_distribution<double> t(5.0);
  std::vector<double> v;
  for (int i = 0; i < 3000; ++i) v.push_back(std::round(t(rng) * 4096) / 4096 + i * 1e-9);
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  in.x = v;
  for (std::size_t i = 0; i < v.size(); ++i) in.w.push_back(1 + static_cast<double>(rng() % 7));
  for (std::size_t k : {16u, 64u}) {
    std::vector<std::size_t> ends;
    solve(in, k, ends);
    const long double got = detail::kmeans1d_partition_cost(in.x.data(), in.w.data(), k, ends.data());
    CHECK(got <= plain_dp(in, k) + slack(in));
  }
}

TEST_CASE("kmeans_optimal special cases") {
  instance in;
  for (int i = 0; i < 12; ++i) in.x.push_back(i), in.w.push_back(1);
  std::vector<std::size_t> ends;
  CHECK(solve(in, 12, ends) == 0.0);  // every value its own cluster
  for (std::size_t c = 0; c < 12; ++c) CHECK(ends[c] == c + 1);
  CHECK(solve(in, 4, ends) == doctest::Approx(4 * 2.0));  // runs of 3 evenly spaced values: 2 each
  CHECK(ends == std::vector<std::size_t>{3, 6, 9, 12});
  CHECK(solve(in, 1, ends) == doctest::Approx(143.0));  // n (n^2 - 1) / 12
  detail::kmeans1d_workspace ws;
  std::size_t e[2];
  CHECK_THROWS_AS(detail::kmeans1d_optimal(in.x.data(), in.w.data(), 12, 13, ws, e), error);
  CHECK_THROWS_AS(detail::kmeans1d_optimal(in.x.data(), in.w.data(), 12, 0, ws, e), error);
}

TEST_CASE("kmeans_lloyd: nearest-center labels, ascending centers, never better than the optimum") {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 80; ++trial) {
    const std::size_t n = 20 + static_cast<std::size_t>(rng() % 600);
    const auto in = random_instance(rng, n, trial % 2 == 1);
    for (std::size_t k : {2u, 5u, 16u}) {
      CAPTURE(trial);
      CAPTURE(k);
      std::vector<std::size_t> ends(k), opt_ends;
      std::vector<double> centers(k);
      detail::lloyd_workspace ws;
      detail::kmeans1d_lloyd(in.x.data(), in.w.data(), n, k, {}, ws, ends.data(), centers.data());
      CHECK(std::is_sorted(centers.begin(), centers.end()));
      CHECK(ends.back() == n);
      for (std::size_t c = 0, b = 0; c < k; b = ends[c], ++c)
        for (std::size_t i = b; i < ends[c]; ++i)
          for (std::size_t d = 0; d < k; ++d)
            CHECK(std::fabs(in.x[i] - centers[c]) <= std::fabs(in.x[i] - centers[d]) * (1 + 1e-12) + 1e-15);
      solve(in, k, opt_ends);
      const double opt = detail::kmeans1d_partition_cost(in.x.data(), in.w.data(), k, opt_ends.data());
      // Lloyd's error measured with its own centers is >= the best partition's error.
      double lloyd = 0;
      for (std::size_t c = 0, b = 0; c < k; b = ends[c], ++c)
        for (std::size_t i = b; i < ends[c]; ++i)
          lloyd += in.w[i] * (in.x[i] - centers[c]) * (in.x[i] - centers[c]);
      CHECK(opt <= lloyd + static_cast<double>(slack(in)));
      // Same seed, same result.
      std::vector<std::size_t> ends2(k);
      std::vector<double> centers2(k);
      detail::kmeans1d_lloyd(in.x.data(), in.w.data(), n, k, {}, ws, ends2.data(), centers2.data());
      CHECK(centers2 == centers);
    }
  }
}

TEST_CASE("kmeans_lloyd finds well separated clusters") {
  instance in;
  for (int c = 0; c < 4; ++c)
    for (int i = 0; i < 50; ++i) in.x.push_back(c * 100.0 + i * 0.01), in.w.push_back(1 + i % 3);
  std::vector<std::size_t> ends(4);
  std::vector<double> centers(4);
  detail::lloyd_workspace ws;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    detail::kmeans1d_lloyd(in.x.data(), in.w.data(), in.x.size(), 4, {seed, 300, 0.0}, ws, ends.data(),
                           centers.data());
    CHECK(ends == std::vector<std::size_t>{50, 100, 150, 200});
  }
}

TEST_CASE("numpy_random_state replays np.random.RandomState") {
  // Outputs of numpy 1.24: RandomState(0): randint(16384), randint(10),
  // randint(1), randint(1000003), uniform(size=2); RandomState(2**32 - 1):
  // randint(7), randint(2**32), random_sample().
  detail::numpy_random_state r(0);
  CHECK(r.randint(16384) == 2732);
  CHECK(r.randint(10) == 5);
  CHECK(r.randint(1) == 0);
  CHECK(r.randint(1000003) == 117952);
  CHECK(r.random_sample() == 0.6027633760716439);
  CHECK(r.random_sample() == 0.5448831829968969);
  detail::numpy_random_state q(4294967295u);
  CHECK(q.randint(7) == 3);
  CHECK(q.randint(4294967296ull) == 479346978u);
  CHECK(q.random_sample() == 0.9123828453026218);
  CHECK_THROWS_AS(detail::numpy_random_state(4294967296ull), error);
  CHECK_THROWS_AS(r.randint(0), error);
}

TEST_CASE("kmeans_lloyd reproduces sklearn 1.2.1 KMeans on the samples in order") {
  // x_i = round(t^3 * 256) / 256, t = ((i * 7919) % 1009 - 504) / 504, i < 600
  // (332 distinct values on a 1/256 grid: many midpoint ties). Expected:
  // sorted cluster_centers_ and inertia_ of sklearn 1.2.1
  // KMeans(n_clusters=k, init="k-means++", n_init=1, tol=1e-2, random_state=seed)
  // .fit(x.reshape(-1, 1)) (Debian 12 python3-sklearn, numpy 1.24).
  struct golden {
    std::size_t k;
    std::uint64_t seed;
    double inertia;
    std::vector<double> centers;
  };
  const golden cases[] = {
      {16,
       0,
       0.6293689725350418,
       {-0.9499289772727273, -0.8362379807692308, -0.7153645833333333, -0.5911458333333333,
        -0.4630681818181819, -0.31502757352941174, -0.15262276785714288, -0.012860576923076952,
        0.03483606557377047, 0.1099330357142857, 0.20221354166666664, 0.31340144230769235, 0.4441731770833333,
        0.6065204326923077, 0.7804276315789473, 0.9364583333333333}},
      {5,
       0,
       5.323627133780596,
       {-0.7227783203125007, -0.26766304347826086, 0.016995826863353998, 0.382179054054054,
        0.7911783854166666}},
      {16,
       7,
       0.581358193881357,
       {-0.9499289772727273, -0.8270833333333333, -0.6916360294117647, -0.5580078125, -0.42649147727272724,
        -0.2970052083333333, -0.17187500000000003, -0.07242838541666669, -0.0017869015957446784,
        0.0598958333333333, 0.16832386363636362, 0.3245271381578947, 0.5048828125, 0.6807528409090909,
        0.8325520833333333, 0.9556107954545455}},
  };
  std::vector<double> samples;
  for (int i = 0; i < 600; ++i) {
    const double t = ((i * 7919) % 1009 - 504) / 504.0;
    samples.push_back(std::nearbyint(t * t * t * 256) / 256);
  }
  std::vector<double> x = samples, w;
  std::sort(x.begin(), x.end());
  x.erase(std::unique(x.begin(), x.end()), x.end());
  REQUIRE(x.size() == 332);
  w.assign(x.size(), 0.0);
  std::vector<std::uint32_t> order;
  for (const double v : samples) {
    const auto j = static_cast<std::uint32_t>(std::lower_bound(x.begin(), x.end(), v) - x.begin());
    order.push_back(j);
    w[j] += 1;
  }
  for (const auto& g : cases) {
    CAPTURE(g.k);
    CAPTURE(g.seed);
    std::vector<std::size_t> ends(g.k);
    std::vector<double> centers(g.k);
    detail::lloyd_workspace ws;
    detail::kmeans1d_lloyd(x.data(), w.data(), x.size(), g.k, {g.seed, 300, 1e-2, 1}, ws, ends.data(),
                           centers.data(), order.size(), [&](std::size_t e) { return order[e]; });
    for (std::size_t c = 0; c < g.k; ++c) CHECK(centers[c] == doctest::Approx(g.centers[c]).epsilon(1e-12));
    double inertia = 0;
    for (const double v : samples) {
      double best = std::numeric_limits<double>::infinity();
      for (const double c : centers) best = std::min(best, (v - c) * (v - c));
      inertia += best;
    }
    CHECK(inertia == doctest::Approx(g.inertia).epsilon(1e-12));
  }
}

TEST_CASE("kmeans_lloyd: n_init keeps the best run; bad parameters throw") {
  std::mt19937_64 rng(11);
  const auto in = random_instance(rng, 300, false);
  const std::size_t k = 7;
  auto cost = [&](const detail::lloyd_params& p) {
    std::vector<std::size_t> ends(k);
    std::vector<double> centers(k);
    detail::lloyd_workspace ws;
    detail::kmeans1d_lloyd(in.x.data(), in.w.data(), in.x.size(), k, p, ws, ends.data(), centers.data());
    double e = 0;
    for (std::size_t c = 0, b = 0; c < k; b = ends[c], ++c)
      for (std::size_t i = b; i < ends[c]; ++i)
        e += in.w[i] * (in.x[i] - centers[c]) * (in.x[i] - centers[c]);
    return e;
  };
  // Run 1 of n_init = 4 is the n_init = 1 run (same stream), so 4 runs are never worse.
  const double one = cost({3, 300, 1e-2, 1}), four = cost({3, 300, 1e-2, 4});
  CHECK(four <= one);
  std::vector<std::size_t> ends(k);
  std::vector<double> centers(k);
  detail::lloyd_workspace ws;
  for (const detail::lloyd_params bad :
       {detail::lloyd_params{0, 0, 1e-2, 1}, detail::lloyd_params{0, 300, -1, 1},
        detail::lloyd_params{0, 300, 1e-2, 0}, detail::lloyd_params{1ull << 32, 300, 1e-2, 1}})
    CHECK_THROWS_AS(detail::kmeans1d_lloyd(in.x.data(), in.w.data(), in.x.size(), k, bad, ws, ends.data(),
                                           centers.data()),
                    error);
}
