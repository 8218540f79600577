// lut_quantize end to end, against independent references (lut_test_util.hpp):
// the partition is optimal (textbook DP on the group's distinct values), the
// LUT is the f16-nearest mean of each cluster, small groups are exact,
// coremltools' uniform formula, stacking, threads, per-channel scales, errors.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "lowbit/quant/lut.hpp"
#include "lut_test_util.hpp"

using namespace lowbit;
using lut_test::unpack_bitwise;

namespace {
/// A two-thread executor (tasks handed out dynamically), independent of lowbit's pool.
struct two_threads {
  static void run(void*, std::size_t n, executor::task_fn fn, void* ctx) {
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i; (i = next.fetch_add(1)) < n;) fn(ctx, i);
    };
    std::thread t(work);
    work();
    t.join();
  }
  executor get() { return executor(this, &run, 2); }
};

template <class T, class L>
struct result {
  std::vector<std::uint8_t> stream, idx;
  std::vector<L> lut;
  std::vector<L> scales;
};

template <class L, class T>
result<T, L> run(const lut_format& f, const std::vector<T>& w, std::size_t rows, std::size_t cols,
                 lut_options o = {}) {
  result<T, L> r;
  r.stream.assign(lut_index_bytes(f, rows, cols, o.experts), 0xa5);  // garbage: must be overwritten
  r.lut.assign(lut_groups(f, rows, o.experts) * lut_entries(f), from_float<L>(123.0f));
  r.scales.resize(lut_scale_count(o.channel_scale, rows, cols, o.experts));
  lut_quantize(f, w.data(), rows, cols, r.stream.data(), r.lut.data(), o, r.scales.data());
  r.idx = unpack_bitwise(r.stream.data(), o.experts * rows * cols, f.bits);
  // Tail bits of the last byte are zero, as CoreML writes them.
  const std::size_t used = o.experts * rows * cols * f.bits % 8;
  if (used != 0) CHECK((r.stream.back() >> used) == 0);
  return r;
}
}  // namespace

TEST_CASE("kmeans_optimal: optimal partition, f16-nearest centroids, zero-padded LUT (f16, every nbits)") {
  const std::size_t rows = 16, cols = 96;
  const auto w = lut_test::llm_weights<f16>(rows * cols, 11);
  for (int bits = 1; bits <= 8; ++bits) {
    for (std::size_t gs : {std::size_t{4}, std::size_t{0}}) {
      CAPTURE(bits);
      CAPTURE(gs);
      const lut_format f{bits, gs};
      const auto r = run<f16>(f, w, rows, cols);
      const std::size_t grows = gs == 0 ? rows : gs, n = grows * cols, entries = std::size_t{1} << bits;
      for (std::size_t g = 0; g < lut_groups(f, rows); ++g) {
        const f16* gw = w.data() + g * n;
        const std::uint8_t* gl = r.idx.data() + g * n;
        std::vector<long double> x, c;
        lut_test::distinct(gw, n, x, c);
        const std::size_t k = std::min(x.size(), entries);
        const long double want = lut_test::optimal_cost(x, c, k);
        long double energy = 0;
        for (std::size_t i = 0; i < x.size(); ++i) energy += c[i] * x[i] * x[i];
        CHECK(std::fabs(lut_test::partition_cost(gw, gl, n) - want) <= 1e-9L * want + 1e-13L * energy);
        // Entry c is the f16 nearest to the mean of the weights labelled c; ascending; then zeros.
        long double sum[256] = {}, cnt[256] = {};
        for (std::size_t i = 0; i < n; ++i) sum[gl[i]] += static_cast<float>(gw[i]), cnt[gl[i]] += 1;
        const f16* lut = r.lut.data() + g * entries;
        for (std::size_t e = 0; e < entries; ++e) {
          if (e < k) {
            REQUIRE(cnt[e] > 0);
            CHECK(lut[e].bits == lut_test::nearest_f16(sum[e] / cnt[e]).bits);
            if (e > 0) CHECK(static_cast<float>(lut[e - 1]) <= static_cast<float>(lut[e]));
          } else {
            CHECK(cnt[e] == 0);
            CHECK(lut[e].bits == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("kmeans_optimal: float and bf16 weights, float LUT") {
  const std::size_t rows = 8, cols = 300;
  const auto wf = lut_test::llm_weights<float>(rows * cols, 5);
  const auto wb = lut_test::llm_weights<bf16>(rows * cols, 6);
  const lut_format f{3, 4};
  const auto rf = run<float>(f, wf, rows, cols);
  const auto rb = run<float>(f, wb, rows, cols);
  for (std::size_t g = 0; g < 2; ++g) {
    std::vector<long double> x, c;
    lut_test::distinct(wf.data() + g * 4 * cols, 4 * cols, x, c);
    const long double want = lut_test::optimal_cost(x, c, 8);
    CHECK(lut_test::partition_cost(wf.data() + g * 4 * cols, rf.idx.data() + g * 4 * cols, 4 * cols) ==
          doctest::Approx(static_cast<double>(want)).epsilon(1e-9));
    lut_test::distinct(wb.data() + g * 4 * cols, 4 * cols, x, c);
    const long double want_b = lut_test::optimal_cost(x, c, 8);
    CHECK(lut_test::partition_cost(wb.data() + g * 4 * cols, rb.idx.data() + g * 4 * cols, 4 * cols) ==
          doctest::Approx(static_cast<double>(want_b)).epsilon(1e-9));
  }
}

TEST_CASE("groups with at most 2^bits distinct values are exact; -0 and +0 are one value") {
  const std::size_t rows = 4, cols = 6;
  std::vector<f16> w(rows * cols);
  const float vals[5] = {-0.5f, 0.25f, 0.0f, 1.0f, -0.0f};
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = f16(vals[(i * 7) % 5]);
  for (auto method : {lut_method::kmeans_optimal, lut_method::kmeans_lloyd}) {
    lut_options o;
    o.method = method;
    const auto r = run<f16>(lut_format{2, 0}, w, rows, cols, o);  // 4 entries, 4 distinct values
    CHECK(static_cast<float>(r.lut[0]) == -0.5f);
    CHECK(static_cast<float>(r.lut[1]) == 0.0f);
    CHECK(static_cast<float>(r.lut[2]) == 0.25f);
    CHECK(static_cast<float>(r.lut[3]) == 1.0f);
    for (std::size_t i = 0; i < w.size(); ++i)
      CHECK(static_cast<float>(r.lut[r.idx[i]]) == static_cast<float>(w[i]));
    const auto r3 = run<f16>(lut_format{3, 0}, w, rows, cols, o);
    for (int e = 4; e < 8; ++e) CHECK(r3.lut[e].bits == 0);  // unused entries: 0, as coremltools
  }
}

TEST_CASE("uniform: coremltools' formula in the weight precision; constant groups") {
  const std::size_t rows = 2, cols = 40;
  const auto w = lut_test::llm_weights<f16>(rows * cols, 3);
  lut_options o;
  o.method = lut_method::uniform;
  for (int bits : {2, 4, 6}) {
    const auto r = run<f16>(lut_format{bits, 1}, w, rows, cols, o);
    for (std::size_t g = 0; g < rows; ++g) {
      // numpy: val_min/val_max f16; scale = float64(f16(max - min)) / (2^n - 1); every array op in f16.
      auto h = [](float v) { return static_cast<float>(f16(v)); };
      float lo = 1e9f, hi = -1e9f;
      for (std::size_t c = 0; c < cols; ++c)
        lo = std::min(lo, static_cast<float>(w[g * cols + c])),
        hi = std::max(hi, static_cast<float>(w[g * cols + c]));
      const int steps = (1 << bits) - 1;
      const float range = h(hi - lo);
      for (int i = 0; i <= steps; ++i)
        CHECK(r.lut[g * (steps + 1) + i].bits ==
              lut_test::nearest_f16(i * (static_cast<long double>(range) / steps) + lo).bits);
      for (std::size_t c = 0; c < cols; ++c) {
        const float q = h(h(h(static_cast<float>(w[g * cols + c]) - lo) / range) * static_cast<float>(steps));
        CHECK(r.idx[g * cols + c] == static_cast<int>(std::nearbyint(q)));
      }
    }
  }
  const std::vector<f16> flat(3 * 5, f16(0.75f));
  const auto r = run<f16>(lut_format{4, 0}, flat, 3, 5, o);
  for (int i = 0; i < 16; ++i) CHECK(static_cast<float>(r.lut[i]) == 0.75f);
  for (auto v : r.idx) CHECK(v == 0);
  const std::vector<f16> ramp = {f16(0.0f), f16(1.0f), f16(2.0f), f16(3.0f)};
  const auto q = run<float>(lut_format{2, 0}, ramp, 1, 4, o);
  CHECK(q.lut == std::vector<float>{0, 1, 2, 3});
  CHECK(q.idx == std::vector<std::uint8_t>{0, 1, 2, 3});
}

TEST_CASE("stacked experts equal separate matrices; threads change nothing") {
  const std::size_t experts = 3, rows = 8, cols = 37;  // 8*37*3 bits: experts start mid-byte
  const auto w = lut_test::llm_weights<f16>(experts * rows * cols, 21);
  for (std::size_t gs : {std::size_t{0}, std::size_t{4}}) {
    const lut_format f{3, gs};
    lut_options o;
    o.experts = experts;
    const auto all = run<f16>(f, w, rows, cols, o);
    two_threads pool;
    o.exec = pool.get();
    const auto threaded = run<f16>(f, w, rows, cols, o);
    CHECK(threaded.stream == all.stream);
    CHECK(threaded.lut == all.lut);
    for (std::size_t e = 0; e < experts; ++e) {
      const std::vector<f16> one(w.begin() + e * rows * cols, w.begin() + (e + 1) * rows * cols);
      const auto r = run<f16>(f, one, rows, cols);
      CHECK(std::equal(r.idx.begin(), r.idx.end(), all.idx.begin() + e * rows * cols));
      CHECK(std::equal(r.lut.begin(), r.lut.end(), all.lut.begin() + e * lut_groups(f, rows) * 8));
    }
  }
}

TEST_CASE("per-channel scale: max|W| per channel, clustering on W / s rounded to T") {
  const std::size_t experts = 2, rows = 8, cols = 24;
  auto w = lut_test::llm_weights<f16>(experts * rows * cols, 8);
  for (std::size_t c = 0; c < cols; ++c) w[3 * cols + c] = f16(0.0f);  // an all-zero row: scale 1
  for (auto mode : {lut_channel_scale::output_rows, lut_channel_scale::input_columns}) {
    lut_options o;
    o.experts = experts;
    o.channel_scale = mode;
    const lut_format f{4, 4};
    const auto r = run<f16>(f, w, rows, cols, o);
    std::vector<f16> normalized(w.size());
    for (std::size_t e = 0; e < experts; ++e)
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t c = 0; c < cols; ++c) {
          float m = 0;
          for (std::size_t k = 0; k < (mode == lut_channel_scale::output_rows ? cols : rows); ++k) {
            const std::size_t at = mode == lut_channel_scale::output_rows ? (e * rows + i) * cols + k
                                                                          : (e * rows + k) * cols + c;
            m = std::max(m, std::fabs(static_cast<float>(w[at])));
          }
          if (m == 0) m = 1;
          const std::size_t si = mode == lut_channel_scale::output_rows ? e * rows + i : e * cols + c;
          CHECK(static_cast<float>(r.scales[si]) == m);
          const std::size_t at = (e * rows + i) * cols + c;
          normalized[at] = f16(static_cast<float>(w[at]) / m);
        }
    lut_options plain;
    plain.experts = experts;
    const auto ref = run<f16>(f, normalized, rows, cols, plain);
    CHECK(r.stream == ref.stream);
    CHECK(r.lut == ref.lut);
  }
}

TEST_CASE("kmeans_lloyd end to end: labels point at the nearest centroid, error >= optimal") {
  const std::size_t rows = 8, cols = 512;
  const auto w = lut_test::llm_weights<f16>(rows * cols, 4);
  lut_options o;
  o.method = lut_method::kmeans_lloyd;
  const lut_format f{4, 8};
  const auto lloyd = run<float>(f, w, rows, cols, o);
  const auto opt = run<float>(f, w, rows, cols);
  double e_lloyd = 0, e_opt = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double v = static_cast<float>(w[i]);
    e_lloyd += (v - lloyd.lut[lloyd.idx[i]]) * (v - lloyd.lut[lloyd.idx[i]]);
    e_opt += (v - opt.lut[opt.idx[i]]) * (v - opt.lut[opt.idx[i]]);
    for (int c = 0; c < 16; ++c)
      CHECK(std::fabs(v - lloyd.lut[lloyd.idx[i]]) <= std::fabs(v - lloyd.lut[c]) * (1 + 1e-6) + 1e-9);
  }
  CHECK(e_opt <= e_lloyd * (1 + 1e-9));
  CHECK(e_lloyd <= e_opt * 1.3);  // same ballpark: 1.06-1.11x over many groups (lut_anchor.md), 1.21x here
}

TEST_CASE("kmeans_lloyd draws over the samples in order, whatever the weight type") {
  // Same values as f16, bf16-exact and float weights: the same sample order,
  // so the same draws and LUTs; a reordered group gives other draws.
  const std::size_t rows = 4, cols = 256;
  auto w16 = lut_test::llm_weights<f16>(rows * cols, 21);
  for (auto& v : w16) v = f16(static_cast<float>(bf16(static_cast<float>(v))));  // bf16-exact too
  std::vector<float> w32;
  std::vector<bf16> wb;
  for (const auto v : w16) w32.push_back(static_cast<float>(v)), wb.push_back(bf16(static_cast<float>(v)));
  lut_options o;
  o.method = lut_method::kmeans_lloyd;
  for (const std::size_t gs : {std::size_t{0}, std::size_t{2}}) {
    const lut_format f{3, gs};
    const auto a = run<float>(f, w16, rows, cols, o);
    const auto b = run<float>(f, w32, rows, cols, o);
    const auto c = run<float>(f, wb, rows, cols, o);
    CHECK(a.lut == b.lut);
    CHECK(a.stream == b.stream);
    CHECK(a.lut == c.lut);
    std::vector<f16> rev(w16.rbegin(), w16.rend());
    CHECK(run<float>(f, rev, rows, cols, o).lut != a.lut);
  }
}

TEST_CASE("lut_quantize errors name the problem") {
  std::vector<f16> w(12 * 4, f16(0.5f));
  std::vector<std::uint8_t> idx(24);
  std::vector<f16> lut(16 * 12);
  CHECK_THROWS_WITH_AS(
      lut_quantize(lut_format{4, 8}, w.data(), 12, 4, idx.data(), lut.data()),
      "lut_quantize: rows 12 is not a multiple of the LUT group_size 8 (output rows per LUT)", error);
  CHECK_THROWS_WITH_AS(lut_quantize(lut_format{9, 4}, w.data(), 12, 4, idx.data(), lut.data()),
                       "lut_format: unsupported bits 9 (supported: 1..8)", error);
  w[5] = f16(std::nanf(""));
  CHECK_THROWS_WITH_AS(lut_quantize(lut_format{4, 4}, w.data(), 12, 4, idx.data(), lut.data()),
                       "lut_quantize: weights contain NaN or Inf", error);
  CHECK_THROWS_AS(
      lut_quantize(lut_format{4, 4}, w.data(), 12, 4, idx.data(), lut.data(), lut_method::uniform), error);
  w[5] = f16(0.5f);
  lut_options o;
  o.channel_scale = lut_channel_scale::output_rows;
  CHECK_THROWS_WITH_AS(lut_quantize(lut_format{4, 4}, w.data(), 12, 4, idx.data(), lut.data(), o),
                       "lut_quantize: channel_scale output_rows needs a scales output", error);
  CHECK_THROWS_AS(lut_quantize(lut_format{4, 4}, w.data(), 12, 4, nullptr, lut.data()), error);
  lut_options l;
  l.method = lut_method::kmeans_lloyd;
  l.seed = 1ull << 32;  // numpy's RandomState takes 32-bit seeds
  CHECK_THROWS_WITH_AS(
      lut_quantize(lut_format{4, 4}, w.data(), 12, 4, idx.data(), lut.data(), l),
      "lut_quantize: kmeans_lloyd needs max_iter >= 1, n_init >= 1, tol >= 0, seed < 2^32 (got 300, 1, 0.01, "
      "4294967296)",
      error);
  l.seed = 0;
  l.n_init = 0;
  CHECK_THROWS_AS(lut_quantize(lut_format{4, 4}, w.data(), 12, 4, idx.data(), lut.data(), l), error);
  // The value table is released after an error: a later call on the same thread still works.
  CHECK_NOTHROW(lut_quantize(lut_format{4, 4}, w.data(), 12, 4, idx.data(), lut.data()));
}

TEST_CASE("index packing of consecutive label runs at any bit offset (the group/chunk writer)") {
  std::mt19937 rng(12);
  for (int bits = 1; bits <= 8; ++bits)
    for (int trial = 0; trial < 20; ++trial) {
      CAPTURE(bits);
      std::vector<std::uint8_t> idx(1 + rng() % 300);
      for (auto& v : idx) v = static_cast<std::uint8_t>(rng() & ((1u << bits) - 1));
      std::vector<std::uint8_t> stream((idx.size() * bits + 7) / 8, 0);
      for (std::size_t b = 0; b < idx.size();) {  // runs of random length, written in random order below
        const std::size_t e = std::min(idx.size(), b + 1 + rng() % 40);
        detail::pack_group_indices(idx.data() + b, e - b, b, bits, stream.data());
        b = e;
      }
      CHECK(stream == lut_test::pack_bitwise(idx, bits));
    }
}
