// The type-erased work description the SIMD kernels run on. The typed front
// end (kernels/cpu.hpp) converts activations to float, erases the scale type
// into a tag, and hands a job to one backend's kernel table; so each backend
// compiles one kernel per (mode, bits) instead of one per dtype combination.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "lowbit/core/executor.hpp"
#include "lowbit/core/half.hpp"
#include "lowbit/core/minifloat.hpp"
#include "lowbit/format/qmatrix.hpp"
#include "lowbit/kernels/row_output.hpp"

// Full unrolling of the small fixed loops over tile rows / parts, so the
// accumulator arrays live in registers (GCC -O2 keeps them on the stack).
#if defined(__clang__)
#define LOWBIT_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define LOWBIT_UNROLL _Pragma("GCC unroll 32")
#else
#define LOWBIT_UNROLL
#endif

namespace lowbit::kernels {

enum class scale_kind : std::uint8_t { f32, f16, bf16, e8m0, e4m3 };
enum class elem_kind : std::uint8_t { f32, f16, bf16 };

template <class T>
constexpr elem_kind elem_kind_of() noexcept {
  if constexpr (std::is_same_v<T, f16>)
    return elem_kind::f16;
  else if constexpr (std::is_same_v<T, bf16>)
    return elem_kind::bf16;
  else
    return elem_kind::f32;
}

/// One matrix [rows, cols] (experts stacked into rows: they are contiguous).
struct qjob {
  const std::uint32_t* packed = nullptr;
  const void* scales = nullptr;
  const void* biases = nullptr;  // affine only
  std::size_t rows = 0, cols = 0;
  quant_format format{};
  scale_kind scales_kind = scale_kind::f32;
  elem_kind scales_elem = elem_kind::f32;  // affine: the dtype MLX rounds dequantize in
  float global_scale = 0.0f;
};

template <class S>
qjob make_qjob(const qmatrix<S>& w, std::size_t rows) noexcept {
  qjob j;
  j.packed = w.packed;
  j.scales = w.scales;
  j.biases = w.biases;
  j.rows = rows;
  j.cols = w.cols;
  j.format = w.format;
  j.global_scale = w.global_scale;
  if constexpr (std::is_same_v<S, std::uint8_t>) {
    j.scales_kind = w.format.mode == quant_mode::nvfp4 ? scale_kind::e4m3 : scale_kind::e8m0;
  } else {
    j.scales_elem = elem_kind_of<S>();
    j.scales_kind = std::is_same_v<S, f16>    ? scale_kind::f16
                    : std::is_same_v<S, bf16> ? scale_kind::bf16
                                              : scale_kind::f32;
  }
  return j;
}

/// y[t][r] = sum_k x[t][k] W[r][k] for t < m (float activations and results;
/// x rows are x_stride apart, y rows y_stride apart).
struct matmul_job {
  qjob w;
  const float* x = nullptr;
  std::size_t m = 1, x_stride = 0;
  float* y = nullptr;
  std::size_t y_stride = 0;
  executor ex{};
  bool int8 = false;  // numerics::int8 (affine formats; the others ignore it)
  // gather_qmv: with expert_ids set, w is expert 0 of a stack (rows: one expert's) and
  // the job is m * top_k routes: route k multiplies activation row k / top_k by expert
  // expert_ids[k] into y + k * y_stride. The mat-vec kernels run all routes in one
  // parallel loop and prepare each activation row once.
  const std::uint32_t* expert_ids = nullptr;
  std::size_t top_k = 1;
};

/// run(yp, stride) writes `outputs` float result rows of `rows` floats, stride apart: into
/// y itself when Y is float, else into a buffer then converted to Y (y_stride apart).
/// Returns run's result.
template <class Y, class Run>
bool with_float_output(std::size_t outputs, std::size_t rows, Y* y, std::size_t y_stride, Run&& run) {
  if constexpr (std::is_same_v<Y, float>) {
    return run(y, y_stride);
  } else {
    std::vector<float> yb(outputs * rows);
    if (!run(yb.data(), rows)) return false;
    for (std::size_t i = 0; i < outputs; ++i)
      for (std::size_t r = 0; r < rows; ++r) y[i * y_stride + r] = from_float<Y>(yb[i * rows + r]);
    return true;
  }
}

/// Expert e of the stack whose expert 0 is w (w.rows rows per expert).
inline qjob expert_of(const qjob& w, std::size_t e) noexcept {
  const std::size_t scale_bytes = w.scales_kind == scale_kind::f32                                        ? 4
                                  : w.scales_kind == scale_kind::f16 || w.scales_kind == scale_kind::bf16 ? 2
                                                                                                          : 1;
  const std::size_t param_bytes = e * w.rows * groups_per_row(w.format, w.cols) * scale_bytes;
  qjob v = w;
  v.packed = w.packed + e * w.rows * words_per_row(w.format, w.cols);
  v.scales = static_cast<const char*>(w.scales) + param_bytes;
  if (w.biases) v.biases = static_cast<const char*>(w.biases) + param_bytes;
  return v;
}

/// What one part of a mat-vec's parallel loop computes: matrix w against activation
/// rows [t0, t1), activation row t's results at y_row(t).
struct matmul_route {
  qjob w;
  std::size_t t0 = 0, t1 = 1;
  float* y = nullptr;
  std::size_t y_stride = 0;
  [[nodiscard]] float* y_row(std::size_t t) const noexcept { return y + (t - t0) * y_stride; }
};

inline std::size_t route_count(const matmul_job& j) noexcept { return j.expert_ids ? j.m * j.top_k : 1; }

inline matmul_route route_of(const matmul_job& j, std::size_t k) noexcept {
  if (!j.expert_ids) return {j.w, 0, j.m, j.y, j.y_stride};
  const std::size_t t = k / j.top_k;
  return {expert_of(j.w, j.expert_ids[k]), t, t + 1, j.y + k * j.y_stride, j.y_stride};
}

/// out[rows][cols] = W as out_kind.
struct dequant_job {
  qjob w;
  void* out = nullptr;
  elem_kind out_kind = elem_kind::f32;
  executor ex{};
  bool stream = false;  // write through row_output's staging row with non-temporal stores
};

/// One backend's kernels (a backend that runs on this CPU).
struct kernel_table {
  const char* (*target)() = nullptr;  // e.g. "AVX3" (Highway target), "avx512bw" (xsimd arch), "scalar"
  void (*matmul)(const matmul_job&) = nullptr;
  void (*dequantize)(const dequant_job&) = nullptr;
};

/// How a kernel walks a row of packed codes; all chunk sizes divide every group.
///  window: N codes per chunk, each pulled from a 16-byte window (any bits);
///  nib:    N bytes = 2N 4-bit codes, low nibbles and high nibbles as two parts;
///  quad:   N bytes = 4N 2-bit codes, four parts; byte: N 8-bit codes.
enum class plan : int { window, nib, quad, byte };
constexpr int plan_parts(plan p) noexcept { return p == plan::nib ? 2 : p == plan::quad ? 4 : 1; }

/// Scale (and bias) of every group of `row` as floats. fp modes: the exact
/// scale factor (mx: 2^(s-127); nv: e4m3(s) * (global/2688), formed as MLX does).
inline void load_group_params(const qjob& w, std::size_t row, float* sc, float* bi) noexcept {
  const std::size_t gpr = w.cols / static_cast<std::size_t>(w.format.group_size);
  const std::size_t off = row * gpr;
  switch (w.scales_kind) {
    case scale_kind::f32:
      std::memcpy(sc, static_cast<const float*>(w.scales) + off, gpr * sizeof(float));
      std::memcpy(bi, static_cast<const float*>(w.biases) + off, gpr * sizeof(float));
      return;
    case scale_kind::f16: {
      const auto* s = static_cast<const f16*>(w.scales) + off;
      const auto* b = static_cast<const f16*>(w.biases) + off;
      for (std::size_t g = 0; g < gpr; ++g) sc[g] = to_float(s[g]), bi[g] = to_float(b[g]);
      return;
    }
    case scale_kind::bf16: {
      const auto* s = static_cast<const bf16*>(w.scales) + off;
      const auto* b = static_cast<const bf16*>(w.biases) + off;
      for (std::size_t g = 0; g < gpr; ++g) sc[g] = to_float(s[g]), bi[g] = to_float(b[g]);
      return;
    }
    case scale_kind::e8m0: {
      const auto* s = static_cast<const std::uint8_t*>(w.scales) + off;
      for (std::size_t g = 0; g < gpr; ++g) sc[g] = std::ldexp(1.0f, static_cast<int>(s[g]) - 127);
      return;
    }
    case scale_kind::e4m3: {
      const auto* s = static_cast<const std::uint8_t*>(w.scales) + off;
      const float gs = w.global_scale;
      for (std::size_t g = 0; g < gpr; ++g) {
        const float v = fp8_e4m3_to_float(s[g]);
        sc[g] = gs != 0.0f ? v * (gs / 2688.0f) : v;
      }
      return;
    }
  }
}

/// Splits [0, n) into `tasks` ranges whose starts are multiples of `align`.
struct range_split {
  std::size_t n, align, tasks;
  range_split(std::size_t n_, std::size_t align_, std::size_t want) : n(n_), align(align_) {
    const std::size_t units = (n + align - 1) / align;
    tasks = want < 1 ? 1 : (want > units ? (units ? units : 1) : want);
  }
  [[nodiscard]] std::size_t begin(std::size_t t) const noexcept {
    const std::size_t units = (n + align - 1) / align;
    const std::size_t b = units * t / tasks * align;
    return b < n ? b : n;
  }
  [[nodiscard]] std::size_t end(std::size_t t) const noexcept { return begin(t + 1); }
};

/// fn(k, begin, end) for rows [begin, end) of each of `routes` routes of `rows` rows, on
/// ex: about 4 tasks per thread in all (one per route on one thread), row ranges aligned
/// to `align`. One loop for all of a gather's routes: a loop per route paid the pool's
/// wake-up and its slowest task every time.
template <class Fn>
void for_each_route_rows(const executor& ex, std::size_t routes, std::size_t rows, std::size_t align,
                         Fn&& fn) {
  const std::size_t c = ex.concurrency();
  const range_split split(rows, align, c == 1 ? 1 : (4 * c + routes - 1) / routes);
  ex.parallel_for(routes * split.tasks, [&](std::size_t task) {
    const std::size_t s = task % split.tasks;
    fn(task / split.tasks, split.begin(s), split.end(s));
  });
}

/// fn(route, begin, end) over every route of j (for_each_route_rows, 16-row ranges).
template <class Fn>
void for_route_rows(const matmul_job& j, Fn&& fn) {
  for_each_route_rows(j.ex, route_count(j), j.w.rows, 16,
                      [&](std::size_t k, std::size_t b, std::size_t e) { fn(route_of(j, k), b, e); });
}

/// Rows [begin, end) as tiles of R rows read as R long streams: full tile t holds
/// rows begin + t + i * full (i < R), so row i of tile t + 1 directly follows row i of
/// tile t in memory, and the hardware prefetcher sees R sequential streams as long as the
/// range instead of R streams one row long, restarted every tile. Plain loads of 4 rows
/// of 2 KiB at a time, 1 GiB, this VM: 22-23 GB/s from 4 adjacent rows, 28 as 4 long
/// streams (one sequential stream 28.5). The rows left over (< R) form one last tile of
/// adjacent rows.
template <std::size_t R>
struct row_tiles {
  std::size_t begin, end, full;
  row_tiles(std::size_t b, std::size_t e) noexcept : begin(b), end(e), full((e - b) / R) {}
  [[nodiscard]] std::size_t count() const noexcept { return full + (begin + R * full < end ? 1 : 0); }
  /// Rows in tile t: R, or fewer in the last one.
  [[nodiscard]] std::size_t size(std::size_t t) const noexcept {
    return t < full ? R : end - begin - R * full;
  }
  /// Row i of tile t.
  [[nodiscard]] std::size_t row(std::size_t t, std::size_t i) const noexcept {
    return t < full ? begin + t + i * full : begin + R * full + i;
  }
  /// fn(rows, n) for every tile, rows[0, n) its row indices.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (std::size_t t = 0; t < count(); ++t) {
      std::size_t rws[R];
      const std::size_t n = size(t);
      for (std::size_t i = 0; i < n; ++i) rws[i] = row(t, i);
      fn(static_cast<const std::size_t*>(rws), n);
    }
  }
};

}  // namespace lowbit::kernels
