// lut_quantize on the LUT anchor's matrices (../shared/research/lut_anchor.md),
// next to coremltools' own numbers measured on this machine kind.
//
//   lowbit-bench-lut-quantize WEIGHTS.safetensors [--matrices W1,W2,W3]
//       [--bits 4,6] [--groups 8,32,0] [--methods optimal,lloyd]
//       [--threads 1,0] [--reps 3] [--seed 0]
//
// WEIGHTS is what `python3 make_weights.py DIR` writes (sha256 83516d80...).
// --threads 0 = every hardware thread. Per row: the median wall time of the
// whole matrix (histogram, solver, LUT, index packing), the process CPU time
// of that run, the 1-min load average, MSE and relative Frobenius error of
// the f16-LUT reconstruction in double (the anchor's definitions), and the
// ratios to coremltools' default path and to the matching anchor method.
#include <sys/resource.h>
#include <lowbit/io/safetensors.hpp>
#include <lowbit/quant/lut.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "lut_anchor_table.hpp"

namespace {

using namespace lowbit;

/// Threads spawned per parallel_for call (the calling thread works too);
/// tasks are handed out dynamically. Spawning costs ~50 us per call against
/// runs of 10 ms and more.
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

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t b = 0;
  while (b <= s.size()) {
    const std::size_t e = std::min(s.find(',', b), s.size());
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double loadavg1() {
  std::ifstream f("/proc/loadavg");
  double l = -1;
  f >> l;
  return l;
}

const lut_bench::anchor_row* anchor(const std::string& m, const char* method, int bits, int gs) {
  for (const auto& r : lut_bench::anchor_rows)
    if (m == r.matrix && std::strcmp(method, r.method) == 0 && r.nbits == bits && r.group_size == gs)
      return &r;
  return nullptr;
}
const lut_bench::anchor_row* ct_default(const std::string& m, int bits, int gs) {
  for (const auto& r : lut_bench::anchor_rows)
    if (m == r.matrix && r.coremltools_default && r.nbits == bits && r.group_size == gs) return &r;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') {
    std::fprintf(
        stderr,
        "usage: %s WEIGHTS.safetensors [--matrices W1,W2,W3] [--bits 4,6] [--groups 8,32,0]\n"
        "       [--methods optimal,lloyd] [--threads 1,0] [--reps 3] [--seed 0 (kmeans_lloyd)]\n"
        "WEIGHTS: python3 ../shared/research/make_weights.py DIR writes DIR/lut_weights.safetensors\n",
        argv[0]);
    return 2;
  }
  std::vector<std::string> matrices = {"W1", "W2", "W3"}, methods = {"optimal", "lloyd"};
  std::vector<int> bits_list = {4, 6}, groups = {8, 32, 0}, threads = {1, 0};
  int reps = 3;
  std::uint64_t seed = 0;
  for (int a = 2; a + 1 < argc; a += 2) {
    const std::string k = argv[a], v = argv[a + 1];
    auto ints = [&] {
      std::vector<int> r;
      for (const auto& s : split(v)) r.push_back(std::stoi(s));
      return r;
    };
    if (k == "--matrices")
      matrices = split(v);
    else if (k == "--bits")
      bits_list = ints();
    else if (k == "--groups")
      groups = ints();
    else if (k == "--methods")
      methods = split(v);
    else if (k == "--threads")
      threads = ints();
    else if (k == "--reps")
      reps = std::stoi(v);
    else if (k == "--seed")
      seed = std::stoull(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const io::safetensors_file file(argv[1]);
  std::printf(
      "| matrix | method | nbits | gs | threads | s/matrix (median of %d) | cpu s | load1 | MSE | rel_err "
      "| CT default s | x CT default | anchor (same method) s | x anchor | MSE / anchor MSE - 1 |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
      reps);
  for (const auto& name : matrices) {
    const auto& info = file.at(name);
    const std::size_t rows = info.shape.at(0), cols = info.shape.at(1);
    const auto w = file.data<f16>(name);
    for (const auto& method : methods)
      for (int bits : bits_list)
        for (int gs : groups) {
          if (name == "W3" && gs != 8) continue;  // the anchor measured W3 at group 8 only
          for (int th : threads) {
            const std::size_t nth = th == 0 ? std::max(1u, std::thread::hardware_concurrency()) : th;
            const lut_format f{bits, static_cast<std::size_t>(gs)};
            std::vector<std::uint8_t> idx(lut_index_bytes(f, rows, cols));
            std::vector<f16> lut(lut_groups(f, rows) * lut_entries(f));
            spawn_executor pool{nth};
            lut_options o;
            o.method = method == "optimal" ? lut_method::kmeans_optimal : lut_method::kmeans_lloyd;
            o.exec = pool.get();
            o.seed = seed;
            std::vector<double> wall;
            double cpu = 0, load = loadavg1();
            for (int r = 0; r < reps; ++r) {
              const double c0 = cpu_seconds();
              const auto t0 = std::chrono::steady_clock::now();
              lut_quantize(f, w.data(), rows, cols, idx.data(), lut.data(), o);
              wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
              cpu += cpu_seconds() - c0;
            }
            std::sort(wall.begin(), wall.end());
            const double sec = wall[wall.size() / 2];
            // Reconstruction error in double, as the anchor measures it.
            const std::size_t grows = gs == 0 ? rows : static_cast<std::size_t>(gs);
            double se = 0, ref = 0;
            for (std::size_t i = 0; i < rows * cols; ++i) {
              const double v = static_cast<float>(w[i]);
              const double q = static_cast<float>(
                  lut[(i / cols / grows) * lut_entries(f) + lut_index_at(idx.data(), i, bits)]);
              se += (v - q) * (v - q);
              ref += v * v;
            }
            const double mse = se / static_cast<double>(rows * cols), rel = std::sqrt(se / ref);
            const auto* def = ct_default(name, bits, gs);
            const char* same = method == "optimal" ? "ct_kmeans1d_cpp"
                                                   : (nth == 1 ? "sklearn_lloyd_1thread" : "sklearn_lloyd");
            const auto* an = anchor(name, same, bits, gs);
            if (an == nullptr && method != "optimal") an = anchor(name, "sklearn_lloyd", bits, gs);
            std::printf(
                "| %s %zux%zu | %s | %d | %d | %zu | %.4f | %.3f | %.1f | %.10e | %.5f | %s | %s | %s | %s | "
                "%s |\n",
                name.c_str(), rows, cols, method.c_str(), bits, gs, nth, sec, cpu / reps, load, mse, rel,
                def ? std::to_string(def->seconds).c_str() : "-",
                def ? (std::to_string(def->seconds / sec) + "x").c_str() : "-",
                an ? (std::to_string(an->seconds) + " (" + an->method + ")").c_str() : "-",
                an ? (std::to_string(an->seconds / sec) + "x").c_str() : "-",
                an ? fmt::format("{:.2e}", mse / an->mse - 1).c_str() : "-");
            std::fflush(stdout);
          }
        }
  }
  return 0;
}
