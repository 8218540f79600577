// LUT qmv and dequantize against this machine's read bandwidth (DESIGN §7):
// effective bandwidth = bytes the kernel must move (indices + tables, + the
// output for dequantize) / time, divided by the read bandwidth over >= 1 GiB
// measured by the same binary the way lowbit-bench measures it (bench/peak.cpp).
// Working sets >= 1 GiB so caches don't flatter.
//
//   lowbit-bench-lut-kernels [--gib 1] [--bits 4,2,3,6] [--threads 1,0] [--reps 5]
//
// The highway backend picks its target at run time; xsimd runs at the baseline
// architecture the kernels were compiled for (lowbit_bench_kernels, see
// kernels/lut_cpu.hpp); bits > 6 run the reference (reported, not a kernel number).
// "gather_qmv" rows: 128 experts of 768x2048, top-8 (MoE decode), routed bytes only.
// "qmv int8" rows: numerics::int8 (kernels/lut_int8-inl.hpp; 3-bit only where the
// highway target is AVX3_DL, else that row runs the exact kernel).
#include <lowbit/kernels/lut.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/peak.hpp"

namespace {
using namespace lowbit;

struct spawn_executor {
  std::size_t threads;
  static void run(void* self, std::size_t n, executor::task_fn fn, void* ctx) {
    const std::size_t t = std::min(static_cast<spawn_executor*>(self)->threads, n);
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(ctx, i);
    };
    std::vector<std::thread> pool;
    for (std::size_t i = 1; i < t; ++i) pool.emplace_back(work);
    work();
    for (auto& th : pool) th.join();
  }
  executor get() { return threads <= 1 ? executor{} : executor(this, &run, threads); }
};

template <class F>
double best_of(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

/// Read bandwidth as lowbit-bench measures it (bench/peak.cpp): the faster of a SIMD
/// streaming sum and the same sum over 4 interleaved rows, split over `tasks` of the
/// executor, best of `reps`. (This program used to time a scalar 64-bit sum, which ran
/// ~25 % below lowbit-bench's baseline on an Ice Lake VM and inflated the ratios.)
double read_bandwidth(const std::uint8_t* p, std::size_t bytes, const executor& ex, std::size_t tasks,
                      int reps) {
  const auto* f = reinterpret_cast<const float*>(p);
  const std::size_t n = bytes / sizeof(float);
  std::vector<float> sink(tasks);
  double best = 1e30;
  for (auto sum : {&lowbit_bench::read_sum, &lowbit_bench::read_sum_tiled})
    best = std::min(best, best_of(reps, [&] {
                      ex.parallel_for(tasks, [&](std::size_t k) {
                        const std::size_t b = n * k / tasks / 16 * 16, e = n * (k + 1) / tasks / 16 * 16;
                        sink[k] = sum(f + b, e - b);
                      });
                    }));
  if (sink[0] == 42.0f) std::printf(" ");  // keep the sums alive
  return static_cast<double>(bytes) / best;
}

std::vector<int> ints(const std::string& s) {
  std::vector<int> r;
  for (std::size_t b = 0; b < s.size();) {
    const std::size_t e = std::min(s.find(',', b), s.size());
    r.push_back(std::stoi(s.substr(b, e - b)));
    b = e + 1;
  }
  return r;
}
}  // namespace

int main(int argc, char** argv) {
  double gib = 1.0;
  std::vector<int> bits_list = {4, 2, 3, 6}, threads = {1, 0};
  int reps = 5;
  for (int a = 1; a + 1 < argc; a += 2) {
    const std::string k = argv[a], v = argv[a + 1];
    if (k == "--gib")
      gib = std::stod(v);
    else if (k == "--bits")
      bits_list = ints(v);
    else if (k == "--threads")
      threads = ints(v);
    else if (k == "--reps")
      reps = std::stoi(v);
  }
  const std::size_t bytes = static_cast<std::size_t>(gib * (1ull << 30));
  std::vector<std::uint8_t> buf(bytes + 64);
  std::mt19937_64 rng(1);
  for (std::size_t i = 0; i + 8 <= buf.size(); i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(&buf[i], &v, 8);
  }
  std::printf(
      "| kernel | bits | shape | threads | s (best of %d) | GB/s moved | read GB/s (stream) | ratio |\n"
      "|---|---|---|---|---|---|---|---|\n",
      reps);
  for (int th : threads) {
    const std::size_t nth = th == 0 ? std::max(1u, std::thread::hardware_concurrency()) : th;
    spawn_executor pool{nth};
    const executor ex = pool.get();
    const double bw = read_bandwidth(buf.data(), bytes, ex, nth, reps);
    // First, right after the read baseline: measured after the 4-bit dequantize (which
    // writes and frees 512 MiB), these calls ran 4-5x slower for a while on this VM.
    // MoE decode: gather_qmv over 128 stacked experts of 768x2048 (Qwen3-30B-A3B's expert
    // up/gate shape), 4-bit, top-8 distinct random experts per call, the stacks rotated over
    // the buffer; moved = the routed experts' indices + tables.
    const std::size_t E = 128, K = 8, erows = 768, ecols = 2048;
    const lut_format gf{4, 8};
    const std::size_t stack = lut_index_bytes(gf, erows * E, ecols),
                      stacks = std::max<std::size_t>(1, bytes / stack);
    std::vector<f16> glut(lut_groups(gf, erows, E) * lut_entries(gf));
    for (std::size_t i = 0; i < glut.size(); ++i) glut[i] = f16(static_cast<float>(i % 89) * 0.01f - 0.4f);
    std::vector<float> gx(ecols, 0.25f), gy(K * erows);
    std::vector<std::uint32_t> ids(K), all(E);
    std::mt19937 pick(7);
    const double gmoved = static_cast<double>(
        K * (lut_index_bytes(gf, erows, ecols) + lut_groups(gf, erows) * lut_entries(gf) * 2) + ecols * 4);
    for (numerics nm : {numerics::exact, numerics::int8}) {
      const double t =
          best_of(reps,
                  [&] {
                    for (std::size_t i = 0; i < stacks; ++i) {
                      for (std::size_t e = 0; e < E; ++e) all[e] = static_cast<std::uint32_t>(e);
                      for (std::size_t k = 0; k < K; ++k) {
                        std::swap(all[k], all[k + pick() % (E - k)]);
                        ids[k] = all[k];
                      }
                      const lut_matrix<f16> w{buf.data() + i * stack, glut.data(), erows, ecols, gf, E};
                      gather_qmv(w, gx.data(), 1, ids.data(), K, gy.data(), ex, backend::automatic, nm);
                    }
                  }) /
          static_cast<double>(stacks);
      std::printf("| gather_qmv%s E%zu top-%zu | 4 | %zux%zu | %zu | %.6f | %.2f | %.2f | %.3f |\n",
                  nm == numerics::int8 ? " int8" : "", E, K, erows, ecols, nth, t, gmoved / t / 1e9, bw / 1e9,
                  gmoved / t / bw);
      std::fflush(stdout);
    }
    for (int bits : bits_list) {
      const std::size_t cols = 8192, rows = bytes * 8 / bits / cols / 8 * 8;  // indices fill ~gib GiB
      std::vector<f16> lut(lut_groups(lut_format{bits, 8}, rows) * lut_entries(lut_format{bits, 8}));
      for (std::size_t i = 0; i < lut.size(); ++i) lut[i] = f16(static_cast<float>(i % 97) * 0.01f - 0.5f);
      const lut_matrix<f16> w{buf.data(), lut.data(), rows, cols, lut_format{bits, 8}};
      std::vector<float> x(cols, 0.5f), y(rows);
      const double moved =
          static_cast<double>(lut_index_bytes(w.format, rows, cols) + lut.size() * 2 + cols * 4);
      for (numerics nm : {numerics::exact, numerics::int8}) {
        if (nm == numerics::int8 && bits > 4) continue;  // the int8 kernel's widths
        const double t = best_of(reps, [&] { qmv(w, x.data(), y.data(), ex, backend::automatic, nm); });
        std::printf("| qmv%s | %d | %zux%zu | %zu | %.4f | %.2f | %.2f | %.3f |\n",
                    nm == numerics::int8 ? " int8" : "", bits, rows, cols, nth, t, moved / t / 1e9, bw / 1e9,
                    moved / t / bw);
        std::fflush(stdout);
      }
      if (bits <= 4) {  // dequantize writes 2 bytes per weight: a smaller matrix keeps memory bounded
        const std::size_t drows = rows / 8 / 8 * 8;
        const lut_matrix<f16> d{buf.data(), lut.data(), drows, cols, lut_format{bits, 8}};
        std::vector<f16> out(drows * cols);
        const double dmoved = static_cast<double>(lut_index_bytes(d.format, drows, cols) + out.size() * 2);
        const double td = best_of(reps, [&] { dequantize(d, out.data(), ex); });
        std::printf("| dequantize->f16 | %d | %zux%zu | %zu | %.4f | %.2f | %.2f | %.3f |\n", bits, drows,
                    cols, nth, td, dmoved / td / 1e9, bw / 1e9, dmoved / td / bw);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
