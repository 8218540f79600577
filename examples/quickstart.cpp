// quickstart: the main job of `scripts/run.sh` for now. Quantizes a random
// float matrix (LLM-like weights, N(0, 0.02)) in a few MLX formats, dequantizes
// it back, runs qmv, and prints the reconstruction error against the float
// matrix and the time of each step.
//
//   quickstart [ROWS COLS [FORMAT...]]     FORMAT: affine:BITS:GROUP | mxfp4 | mxfp8 | nvfp4
//   quickstart                             = quickstart 4096 4096 affine:4:64 mxfp4
#include <lowbit/lowbit.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// Best of a few runs: the first touches cold memory.
template <class F>
double best_ms(int runs, F&& f) {
  double best = 1e300;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = clock_type::now();
    f();
    best = std::min(best, ms_since(t0));
  }
  return best;
}

lowbit::quant_format parse_format(std::string_view s) {
  if (s.substr(0, 7) == "affine:") {
    const auto colon = s.find(':', 7);
    if (colon == std::string_view::npos)
      lowbit::detail::fail("quickstart: format '{}' is not affine:BITS:GROUP", s);
    const lowbit::quant_format f{lowbit::quant_mode::affine, std::stoi(std::string(s.substr(7, colon - 7))),
                                 std::stoi(std::string(s.substr(colon + 1)))};
    lowbit::validate(f);
    return f;
  }
  return lowbit::default_format(lowbit::parse_quant_mode(s));
}

std::string format_name(const lowbit::quant_format& f) {
  if (f.mode == lowbit::quant_mode::affine) return fmt::format("affine b{} g{}", f.bits, f.group_size);
  return std::string(lowbit::to_string(f.mode));
}

struct problem {
  std::size_t rows, cols;
  std::vector<float> w;       // the float matrix
  std::vector<float> x;       // the qmv input
  std::vector<double> y_ref;  // W x in float64, with the float matrix
};

// S = bf16 for affine (MLX checkpoints store scales/biases in the weight dtype,
// usually bf16), std::uint8_t for the fp modes.
template <class S>
void run_format(const problem& p, const lowbit::quant_format& f) {
  const std::size_t n = p.rows * p.cols;
  const bool affine = f.mode == lowbit::quant_mode::affine;
  std::vector<std::uint32_t> packed(n / 32 * static_cast<std::size_t>(f.bits));
  std::vector<S> scales(n / static_cast<std::size_t>(f.group_size));
  std::vector<S> biases(affine ? scales.size() : 0);
  S* biases_ptr = affine ? biases.data() : nullptr;

  auto t0 = clock_type::now();
  lowbit::quantize(f, p.w.data(), p.rows, p.cols, packed.data(), scales.data(), biases_ptr);
  const double t_quant = ms_since(t0);

  const lowbit::qmatrix<S> q{packed.data(), scales.data(), biases_ptr, p.rows, p.cols, f};
  std::vector<float> back(n);
  const double t_deq = best_ms(3, [&] { lowbit::dequantize(q, back.data()); });
  std::vector<float> y(p.rows);
  const double t_qmv = best_ms(5, [&] { lowbit::qmv(q, p.x.data(), y.data()); });

  double max_err = 0, sum_err = 0, sum_sq_err = 0, sum_sq_w = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double e = std::fabs(static_cast<double>(back[i]) - p.w[i]);
    max_err = std::max(max_err, e);
    sum_err += e;
    sum_sq_err += e * e;
    sum_sq_w += static_cast<double>(p.w[i]) * p.w[i];
  }
  double y_err = 0, y_norm = 0;
  for (std::size_t r = 0; r < p.rows; ++r) {
    y_err += (y[r] - p.y_ref[r]) * (y[r] - p.y_ref[r]);
    y_norm += p.y_ref[r] * p.y_ref[r];
  }
  const double bytes = static_cast<double>(packed.size() * 4 + (scales.size() + biases.size()) * sizeof(S));
  fmt::print("{:<16} {:>6.2f} {:>11.1f} {:>11.1f} {:>9.2f} {:>7.2f} {:>10.2e} {:>10.2e} {:>9.2e} {:>9.2e}\n",
             format_name(f), bytes * 8 / static_cast<double>(n), t_quant, t_deq, t_qmv, bytes / t_qmv / 1e6,
             max_err, sum_err / static_cast<double>(n), std::sqrt(sum_sq_err / sum_sq_w),
             std::sqrt(y_err / y_norm));
}

}  // namespace

int main(int argc, char** argv) try {
  problem p{4096, 4096, {}, {}, {}};
  std::vector<lowbit::quant_format> formats;
  if (argc >= 3) {
    p.rows = std::stoul(argv[1]);
    p.cols = std::stoul(argv[2]);
  } else if (argc == 2) {
    lowbit::detail::fail("usage: quickstart [ROWS COLS [affine:BITS:GROUP | mxfp4 | mxfp8 | nvfp4 ...]]");
  }
  for (int i = 3; i < argc; ++i) formats.push_back(parse_format(argv[i]));
  if (formats.empty())
    formats = {{lowbit::quant_mode::affine, 4, 64}, lowbit::default_format(lowbit::quant_mode::mxfp4)};

  std::mt19937 rng(42);
  std::normal_distribution<float> weight(0.0f, 0.02f);
  std::uniform_real_distribution<float> input(-1.0f, 1.0f);
  p.w.resize(p.rows * p.cols);
  for (auto& v : p.w) v = weight(rng);
  p.x.resize(p.cols);
  for (auto& v : p.x) v = input(rng);
  p.y_ref.assign(p.rows, 0.0);
  for (std::size_t r = 0; r < p.rows; ++r)
    for (std::size_t c = 0; c < p.cols; ++c) p.y_ref[r] += static_cast<double>(p.w[r * p.cols + c]) * p.x[c];

  fmt::print("lowbit quickstart: W [{} x {}] float32 ~ N(0, 0.02), x ~ U(-1, 1), seed 42\n", p.rows, p.cols);
  fmt::print(
      "times in ms (dequantize: best of 3, qmv: best of 5), through the public API with its defaults\n\n");
  fmt::print("{:<16} {:>6} {:>11} {:>11} {:>9} {:>7} {:>10} {:>10} {:>9} {:>9}\n", "format", "bits/w",
             "quantize", "dequantize", "qmv", "GB/s", "max|err|", "mean|err|", "rel.rms", "qmv.rel");
  for (const auto& f : formats) {
    if (f.mode == lowbit::quant_mode::affine)
      run_format<lowbit::bf16>(p, f);
    else
      run_format<std::uint8_t>(p, f);
  }
  fmt::print("\nerrors are against the float matrix; qmv.rel = |y - W x| / |W x| with W x in float64.\n");
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "quickstart: {}\n", e.what());
  return 1;
}
