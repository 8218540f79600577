// lut_quantize: palettize W[experts][rows][cols] into one 2^bits LUT per group
// of `group_size` consecutive output rows (research/lut.md §1, DESIGN §2).
//
// Methods (coremltools names in brackets):
//  - kmeans_optimal ["kmeans", its kmeans1d path]: the globally optimal
//    count-weighted 1-D k-means over the group's distinct values, k =
//    min(#distinct, 2^bits); centroids ascending. With f16 weights and an f16
//    LUT the result equals coremltools' (same partition, same rounding)
//    except where two partitions tie to the last bit of a double.
//  - kmeans_lloyd [its sklearn path]: sklearn 1.2's KMeans(k-means++,
//    n_init=1, tol=1e-2, random_state=0, max_iter 300) replayed with numpy's
//    random stream over the group's samples in order (quant/lut_lloyd.hpp):
//    the same LUT up to float rounding of sums and distances, but ascending
//    (sklearn's order is its draw order). sklearn >= 1.3 draws its first
//    center differently (same statistics, other LUTs).
//  - uniform ["uniform"]: lut[i] = min + i*(max-min)/(2^bits-1), with the
//    index arithmetic done in the weight's precision as numpy does it. A
//    constant group (coremltools divides by zero there) gets index 0 and
//    every entry = that constant.
// Unused entries: when a group has k < 2^bits distinct values, entries
// [k, 2^bits) are 0, as coremltools writes them; its centroids are then the
// distinct values themselves (exact). The LUT is rounded once from double to
// L (round to nearest even). Indices are the cluster labels: for
// kmeans_optimal that is the nearest centroid in double, before rounding.
// Per-channel scale (lut_options::channel_scale): s = max|W| over the
// channel (0 -> 1), rounded to L, and the group is clustered on W / s
// rounded to T (coremltools' `enable_per_channel_scale`); W ~ lut[idx] * s.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/executor.hpp"
#include "lowbit/core/half.hpp"
#include "lowbit/format/lut.hpp"
#include "lowbit/quant/lut_group.hpp"
#include "lowbit/quant/lut_options.hpp"

namespace lowbit {

/// Palettizes row-major w (T = float, f16 or bf16) into `indices`
/// (lut_index_bytes(f, rows, cols, experts) bytes, fully written) and `lut`
/// (lut_groups(f, rows, experts) * 2^bits entries, L = float or f16). `scales`
/// receives lut_scale_count(...) values when o.channel_scale is not none.
template <class T, class L>
void lut_quantize(const lut_format& f, const T* w, std::size_t rows, std::size_t cols, std::uint8_t* indices,
                  L* lut, const lut_options& o, L* scales = nullptr) {
  static_assert(is_float_storage_v<T>, "lut_quantize: weights must be float, f16 or bf16");
  static_assert(is_float_storage_v<L>, "lut_quantize: the LUT must be float, f16 or bf16");
  constexpr const char* who = "lut_quantize";
  validate_lut_shape(f, rows, cols, o.experts, who);
  if (w == nullptr || indices == nullptr || lut == nullptr)
    detail::fail("{}: null weight, index or LUT pointer", who);
  if (o.channel_scale != lut_channel_scale::none && scales == nullptr)
    detail::fail("{}: channel_scale {} needs a scales output", who, to_string(o.channel_scale));
  if (o.method == lut_method::kmeans_lloyd &&
      (o.max_iter < 1 || o.n_init < 1 || !(o.tol >= 0) || o.seed > 0xffffffffu))
    detail::fail(
        "{}: kmeans_lloyd needs max_iter >= 1, n_init >= 1, tol >= 0, seed < 2^32 (got {}, {}, {}, {})", who,
        o.max_iter, o.n_init, o.tol, o.seed);
  if (o.method != lut_method::kmeans_optimal && o.method != lut_method::kmeans_lloyd &&
      o.method != lut_method::uniform)
    detail::fail("{}: invalid lut_method {}", who, static_cast<int>(o.method));

  const std::size_t group_rows = lut_rows_per_group(f, rows);
  const std::size_t groups = lut_groups(f, rows, o.experts);
  std::memset(indices, 0, lut_index_bytes(f, rows, cols, o.experts));
  const std::vector<float> divisors =
      detail::channel_scales(w, rows, cols, o.experts, o.channel_scale, scales);

  // Tasks take contiguous runs of groups, 4 per thread for balance; each
  // runs on its thread's cached solver (workspace and 1 MiB counting tables).
  const std::size_t tasks = std::min(groups, std::max<std::size_t>(1, o.exec.concurrency() * 4));
  o.exec.parallel_for(tasks, [&](std::size_t task) {
    detail::with_thread_solver<T>([&](detail::lut_group_solver<T>& solver) {
      for (std::size_t g = groups * task / tasks; g < groups * (task + 1) / tasks; ++g) {
        const std::size_t row0 = g * group_rows, expert = row0 / rows;
        const float* row_div =
            o.channel_scale == lut_channel_scale::output_rows ? divisors.data() + row0 : nullptr;
        const float* col_div =
            o.channel_scale == lut_channel_scale::input_columns ? divisors.data() + expert * cols : nullptr;
        solver.run(f, o, w + row0 * cols, group_rows, cols, row_div, col_div, lut + g * lut_entries(f));
        // A single group (per tensor) spreads its index writing over the threads.
        solver.emit(row0 * cols, f.bits, indices, tasks == 1 ? o.exec : executor{});
      }
    });
  });
}

/// The conformance entry point (DESIGN §3): one expert, serial.
template <class T, class L>
void lut_quantize(const lut_format& f, const T* w, std::size_t rows, std::size_t cols, std::uint8_t* indices,
                  L* lut, lut_method method = lut_method::kmeans_optimal) {
  lut_options o;
  o.method = method;
  lut_quantize(f, w, rows, cols, indices, lut, o);
}

}  // namespace lowbit
