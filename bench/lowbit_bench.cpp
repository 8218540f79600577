// lowbit-bench: one run measures this machine's baselines (streaming read
// bandwidth, copy bandwidth, fp32 FMA peak; at 1 thread and at all threads)
// and then every kernel x backend x threads against the matching baseline.
// Memory-bound kernels rotate over >= 1 GiB of weights (--quick: 256 MiB) so
// the caches don't flatter them; qmm is compute-bound and runs one matrix.
//   lowbit-bench [--quick] [--json FILE] [--only qmv|dequantize|gather_qmv|qmm]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/peak.hpp"
#include "lowbit/core/thread_pool.hpp"
#include "lowbit/kernels/cpu.hpp"

using namespace lowbit;
using clk = std::chrono::steady_clock;

namespace {

struct result {
  std::string kernel, mode = "affine";
  int bits = 0, group_size = 0;
  std::size_t rows = 0, cols = 0, m = 1, experts = 1, top_k = 0, threads = 1;
  std::string backend;
  double seconds = 0, gbps = 0, gflops = 0, baseline = 0, ratio = 0;
};

struct options {
  bool quick = false;
  std::string json, only;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F>
double time_it(F&& f) {
  const auto t0 = clk::now();
  f();
  return std::chrono::duration<double>(clk::now() - t0).count();
}

void fill_random(void* p, std::size_t bytes, std::uint64_t seed, const executor& ex) {
  const std::size_t words = bytes / 8;
  ex.parallel_for(16, [&](std::size_t t) {
    std::uint64_t s = seed * 0x9e3779b97f4a7c15ull + t + 1;
    auto* w = static_cast<std::uint64_t*>(p);
    for (std::size_t i = words * t / 16; i < words * (t + 1) / 16; ++i) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      w[i] = s;
    }
  });
}

/// n matrices of [rows, cols] 4.5-bit-style MLX affine weights with f16 scales, one block of memory.
struct weight_set {
  quant_format f;
  std::size_t rows, cols, experts, count;
  std::vector<std::uint32_t> packed;
  std::vector<f16> scales, biases;
  weight_set(quant_format f_, std::size_t rows_, std::size_t cols_, std::size_t experts_,
             std::size_t min_bytes, const executor& ex)
      : f(f_), rows(rows_), cols(cols_), experts(experts_) {
    count = std::max<std::size_t>(1, (min_bytes + bytes() - 1) / bytes());
    packed.resize(count * experts * rows * cols * static_cast<std::size_t>(f.bits) / 32);
    scales.resize(count * experts * rows * cols / static_cast<std::size_t>(f.group_size));
    biases.resize(scales.size());
    fill_random(packed.data(), packed.size() * 4, 1, ex);
    for (std::size_t i = 0; i < scales.size(); ++i) {
      scales[i] = f16(0.01f + 0.001f * static_cast<float>(i % 7));
      biases[i] = f16(-0.05f * static_cast<float>(i % 3));
    }
  }
  /// Bytes one matrix (all its experts) occupies: packed + scales + biases.
  [[nodiscard]] std::size_t bytes() const {
    const std::size_t e = experts * rows * cols;
    return e * static_cast<std::size_t>(f.bits) / 8 + 2 * 2 * e / static_cast<std::size_t>(f.group_size);
  }
  [[nodiscard]] qmatrix<f16> at(std::size_t i) const {
    const std::size_t words = experts * rows * cols * static_cast<std::size_t>(f.bits) / 32;
    const std::size_t groups = experts * rows * cols / static_cast<std::size_t>(f.group_size);
    return {packed.data() + i * words,
            scales.data() + i * groups,
            biases.data() + i * groups,
            rows,
            cols,
            f,
            experts};
  }
};

struct bench {
  options opt;
  std::vector<result> results;
  std::vector<std::size_t> thread_counts;
  std::vector<double> read_bw, copy_bw, fma_peak;  // per thread_counts entry, GB/s and GFLOP/s

  std::size_t working_set() const { return opt.quick ? (std::size_t{256} << 20) : (std::size_t{1} << 30); }

  void add(result r) {
    std::printf(
        "%-11s %-6s b%d g%-3d %6zux%-6zu m=%-4zu E=%zu k=%zu thr=%zu %-8s %9.3f ms %8.2f GB/s %8.1f GFLOP/s  "
        "ratio %.3f\n",
        r.kernel.c_str(), r.mode.c_str(), r.bits, r.group_size, r.rows, r.cols, r.m, r.experts, r.top_k,
        r.threads, r.backend.c_str(), r.seconds * 1e3, r.gbps, r.gflops, r.ratio);
    std::fflush(stdout);
    results.push_back(std::move(r));
  }

  void baselines() {
    const std::size_t n = working_set() / sizeof(float);
    for (std::size_t ti = 0; ti < thread_counts.size(); ++ti) {
      thread_pool pool(thread_counts[ti]);
      const executor ex = pool.get();
      const std::size_t T = thread_counts[ti];
      std::vector<float> a(n), b(n / 2);
      ex.parallel_for(T, [&](std::size_t t) {  // first touch by the threads that read it
        std::fill(a.begin() + static_cast<std::ptrdiff_t>(n * t / T),
                  a.begin() + static_cast<std::ptrdiff_t>(n * (t + 1) / T), 1.0f);
      });
      std::vector<double> rs, rt, cs, fs;
      std::vector<float> sink(T);
      for (int rep = 0; rep < (opt.quick ? 4 : 8); ++rep) {
        rs.push_back(time_it([&] {
          ex.parallel_for(
              T, [&](std::size_t t) { sink[t] = lowbit_bench::read_sum(a.data() + n * t / T, n / T); });
        }));
        rt.push_back(time_it([&] {
          ex.parallel_for(
              T, [&](std::size_t t) { sink[t] = lowbit_bench::read_sum_tiled(a.data() + n * t / T, n / T); });
        }));
        cs.push_back(time_it([&] {
          ex.parallel_for(T, [&](std::size_t t) {
            std::memcpy(b.data() + n / 2 * t / T, a.data() + n / 2 * t / T, n / 2 / T * sizeof(float));
          });
        }));
        std::vector<double> flops(T);
        fs.push_back(time_it([&] {
                       ex.parallel_for(T, [&](std::size_t t) {
                         flops[t] = lowbit_bench::fma_flops(20'000'000, &sink[t]);
                       });
                     }) /
                     (flops[0] * static_cast<double>(T)));
      }
      // The faster read pattern is the baseline (bench/peak.cpp says why).
      read_bw.push_back(static_cast<double>(n * sizeof(float)) / std::min(median(rs), median(rt)) / 1e9);
      copy_bw.push_back(2.0 * static_cast<double>(n / 2 * sizeof(float)) / median(cs) / 1e9);
      fma_peak.push_back(1.0 / median(fs) / 1e9);
      for (auto [name, v, unit] :
           {std::tuple{"read_bw", read_bw.back(), "GB/s"}, std::tuple{"copy_bw", copy_bw.back(), "GB/s"},
            std::tuple{"fma_peak", fma_peak.back(), "GFLOP/s"}}) {
        result r;
        r.kernel = name;
        r.mode = "-";
        r.threads = T;
        r.backend = "-";
        (std::string(unit) == "GB/s" ? r.gbps : r.gflops) = v;
        r.baseline = v;
        r.ratio = 1.0;
        add(r);
      }
    }
  }

  std::vector<backend> backends() const { return {backend::scalar, backend::xsimd, backend::highway}; }
  /// Every backend in exact numerics, then the SIMD backends with int8 activations.
  std::vector<std::pair<backend, numerics>> variants() const {
    std::vector<std::pair<backend, numerics>> v;
    for (backend b : backends()) v.emplace_back(b, numerics::exact);
    for (backend b : {backend::xsimd, backend::highway}) v.emplace_back(b, numerics::int8);
    return v;
  }
  static const char* name(numerics n) { return n == numerics::int8 ? "int8" : "exact"; }

  void qmv(int bits) {
    const quant_format f{quant_mode::affine, bits, 64};
    for (std::size_t ti = 0; ti < thread_counts.size(); ++ti) {
      thread_pool pool(thread_counts[ti]);
      weight_set ws(f, 14336, 4096, 1, working_set(), pool.get());
      std::vector<float> x(ws.cols, 0.5f), y(ws.rows);
      for (auto [b, nm] : variants()) {
        // The scalar backend streams ~1 GB/s: a slice of the set is enough to time it.
        const std::size_t count = b == backend::scalar ? std::min<std::size_t>(ws.count, 3) : ws.count;
        std::vector<double> ts;
        const int passes = opt.quick ? 2 : 3;
        for (std::size_t i = 0; i < count * static_cast<std::size_t>(passes) + 1; ++i) {
          const double t =
              time_it([&] { kernels::qmv(ws.at(i % count), x.data(), y.data(), pool.get(), b, nm); });
          if (i > 0) ts.push_back(t);
        }
        result r;
        r.kernel = "qmv";
        r.mode = name(nm);
        r.bits = bits;
        r.group_size = 64;
        r.rows = ws.rows;
        r.cols = ws.cols;
        r.threads = thread_counts[ti];
        r.backend = std::string(to_string(b));
        r.seconds = median(ts);
        r.gbps = static_cast<double>(ws.bytes()) / r.seconds / 1e9;
        r.gflops = 2.0 * static_cast<double>(ws.rows * ws.cols) / r.seconds / 1e9;
        r.baseline = read_bw[ti];
        r.ratio = r.gbps / r.baseline;
        add(r);
      }
    }
  }

  std::vector<std::pair<backend, stores>> dequantize_variants() const {
    std::vector<std::pair<backend, stores>> v;
    for (backend b : backends()) {
      v.emplace_back(b, stores::automatic);
      if (b != backend::scalar) v.emplace_back(b, stores::cached);
    }
    return v;
  }

  void dequantize() {
    const quant_format f{quant_mode::affine, 4, 64};
    for (std::size_t ti = 0; ti < thread_counts.size(); ++ti) {
      thread_pool pool(thread_counts[ti]);
      weight_set ws(f, 14336, 4096, 1, working_set() / 4, pool.get());
      std::vector<f16> out0(ws.rows * ws.cols), out1(ws.rows * ws.cols);
      fill_random(out0.data(), out0.size() * 2, 3, pool.get());
      fill_random(out1.data(), out1.size() * 2, 4, pool.get());
      // The default (streaming stores at this size, core/stores.hpp) and, beside it, plain
      // stores ("affine-cached"): the A/B of the output's write path in one run.
      for (auto [b, st] : dequantize_variants()) {
        const std::size_t count = b == backend::scalar ? 2 : std::max<std::size_t>(ws.count, 4);
        std::vector<double> ts;
        for (std::size_t i = 0; i < count + 1; ++i) {
          f16* out = i % 2 ? out1.data() : out0.data();
          const double t = time_it([&] { kernels::dequantize(ws.at(i % ws.count), out, pool.get(), b, st); });
          if (i > 0) ts.push_back(t);
        }
        result r;
        r.kernel = "dequantize";
        r.mode = st == stores::cached ? "affine-cached" : "affine";
        r.bits = 4;
        r.group_size = 64;
        r.rows = ws.rows;
        r.cols = ws.cols;
        r.threads = thread_counts[ti];
        r.backend = std::string(to_string(b));
        r.seconds = median(ts);
        r.gbps = static_cast<double>(ws.bytes() + out0.size() * 2) / r.seconds / 1e9;
        r.baseline = copy_bw[ti];
        r.ratio = r.gbps / r.baseline;
        add(r);
      }
    }
  }

  /// E experts of rows x cols, top-K distinct experts per token at random.
  void gather_qmv(std::size_t E, std::size_t K, std::size_t rows, std::size_t cols) {
    const quant_format f{quant_mode::affine, 4, 64};
    for (std::size_t ti = 0; ti < thread_counts.size(); ++ti) {
      thread_pool pool(thread_counts[ti]);
      weight_set ws(f, rows, cols, E, working_set(), pool.get());
      std::vector<float> x(ws.cols, 0.5f), y(K * ws.rows);
      std::vector<std::uint32_t> ids(K), all(E);
      std::mt19937 rng(5);
      for (auto [b, nm] : variants()) {
        const std::size_t count = b == backend::scalar ? std::min<std::size_t>(ws.count, 2) : ws.count;
        std::vector<double> ts;
        for (std::size_t i = 0; i < count * (opt.quick ? 2u : 3u) + 1; ++i) {
          std::iota(all.begin(), all.end(), 0u);
          for (std::size_t k = 0; k < K; ++k) {  // the first K of a partial Fisher-Yates shuffle
            std::swap(all[k], all[k + rng() % (E - k)]);
            ids[k] = all[k];
          }
          const double t = time_it([&] {
            kernels::gather_qmv(ws.at(i % count), x.data(), 1, ids.data(), K, y.data(), pool.get(), b, nm);
          });
          if (i > 0) ts.push_back(t);
        }
        result r;
        r.kernel = "gather_qmv";
        r.mode = name(nm);
        r.bits = 4;
        r.group_size = 64;
        r.rows = ws.rows;
        r.cols = ws.cols;
        r.experts = E;
        r.top_k = K;
        r.threads = thread_counts[ti];
        r.backend = std::string(to_string(b));
        r.seconds = median(ts);
        r.gbps = static_cast<double>(ws.bytes() / E * K) / r.seconds / 1e9;
        r.baseline = read_bw[ti];
        r.ratio = r.gbps / r.baseline;
        add(r);
      }
    }
  }

  void qmm(std::size_t m) {
    const quant_format f{quant_mode::affine, 4, 64};
    for (std::size_t ti = 0; ti < thread_counts.size(); ++ti) {
      thread_pool pool(thread_counts[ti]);
      weight_set ws(f, 4096, 4096, 1, 0, pool.get());
      std::vector<float> x(m * ws.cols), y(m * ws.rows);
      fill_random(x.data(), x.size() * 4, 9, pool.get());
      for (auto& v : x) v = static_cast<float>(std::bit_cast<std::uint32_t>(v) % 1000) * 1e-3f - 0.5f;
      for (auto [b, nm] : variants()) {
        if (b == backend::scalar && (opt.quick || m > 64)) continue;  // minutes per call
        std::vector<double> ts;
        const int reps = opt.quick ? 2 : (m > 64 ? 3 : 5);
        for (int i = 0; i < reps + 1; ++i) {
          const double t = time_it([&] { kernels::qmm(ws.at(0), x.data(), m, y.data(), pool.get(), b, nm); });
          if (i > 0) ts.push_back(t);
        }
        result r;
        r.kernel = "qmm";
        r.mode = name(nm);
        r.bits = 4;
        r.group_size = 64;
        r.rows = ws.rows;
        r.cols = ws.cols;
        r.m = m;
        r.threads = thread_counts[ti];
        r.backend = std::string(to_string(b));
        r.seconds = median(ts);
        r.gflops = 2.0 * static_cast<double>(m * ws.rows * ws.cols) / r.seconds / 1e9;
        r.baseline = fma_peak[ti];
        r.ratio = r.gflops / r.baseline;
        add(r);
      }
    }
  }

  void write_json() const {
    std::ofstream o(opt.json);
    o << "[\n";
    for (std::size_t i = 0; i < results.size(); ++i) {
      const result& r = results[i];
      o << "  {\"kernel\": \"" << r.kernel << "\", \"mode\": \"" << r.mode << "\", \"bits\": " << r.bits
        << ", \"group_size\": " << r.group_size << ", \"rows\": " << r.rows << ", \"cols\": " << r.cols
        << ", \"m\": " << r.m << ", \"experts\": " << r.experts << ", \"top_k\": " << r.top_k
        << ", \"threads\": " << r.threads << ", \"backend\": \"" << r.backend
        << "\", \"seconds\": " << r.seconds << ", \"gbps\": " << r.gbps << ", \"gflops\": " << r.gflops
        << ", \"baseline\": " << r.baseline << ", \"ratio\": " << r.ratio << "}"
        << (i + 1 < results.size() ? ",\n" : "\n");
    }
    o << "]\n";
  }
};

}  // namespace

int main(int argc, char** argv) {
  bench b;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick")
      b.opt.quick = true;
    else if (a == "--json" && i + 1 < argc)
      b.opt.json = argv[++i];
    else if (a == "--only" && i + 1 < argc)
      b.opt.only = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: lowbit-bench [--quick] [--json FILE] [--only qmv|dequantize|gather_qmv|qmm]\n");
      return 2;
    }
  }
  const std::size_t hw = std::max(1u, std::thread::hardware_concurrency());
  b.thread_counts = hw > 1 ? std::vector<std::size_t>{1, hw} : std::vector<std::size_t>{1};
  std::printf("lowbit-bench: highway target %s, xsimd %s, %zu hardware threads, working set %zu MiB%s\n",
              kernels::highway_table().target(), kernels::xsimd_table().target(), hw, b.working_set() >> 20,
              b.opt.quick ? " (quick)" : "");
  b.baselines();
  const auto want = [&](const char* k) { return b.opt.only.empty() || b.opt.only == k; };
  if (want("qmv"))
    for (int bits : b.opt.quick ? std::vector<int>{4} : std::vector<int>{4, 2, 3, 8}) b.qmv(bits);
  if (want("dequantize")) b.dequantize();
  if (want("gather_qmv")) {
    b.gather_qmv(8, 2, 4096, 4096);
    // Qwen3-30B-A3B's expert up/gate projections: small experts, where a call's fixed
    // costs (threads woken per expert, activations prepared per expert) show.
    if (!b.opt.quick) b.gather_qmv(128, 8, 768, 2048);
  }
  if (want("qmm"))
    for (std::size_t m : b.opt.quick ? std::vector<std::size_t>{64} : std::vector<std::size_t>{64, 512})
      b.qmm(m);
  if (!b.opt.json.empty()) b.write_json();
  return 0;
}
