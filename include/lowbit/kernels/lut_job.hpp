// The type-erased work description of the LUT kernels (kernels/lut-inl.hpp),
// shared by every backend that instantiates them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lowbit/core/executor.hpp"
#include "lowbit/kernels/job.hpp"

namespace lowbit::kernels {

/// One route of a gathered LUT mat-vec: an expert's indices, tables and row scales,
/// and the activation row it multiplies.
struct lut_route {
  const std::uint8_t* indices = nullptr;
  const float* tables = nullptr;
  const float* row_scale = nullptr;
  std::size_t x_row = 0;
};

/// A type-erased LUT job: `rows` stacked rows, indices byte-aligned per row,
/// each group's table as 16 floats per 16-entry table (entries past 2^bits unused).
struct lut_job {
  const std::uint8_t* indices = nullptr;
  std::size_t rows = 0, cols = 0, group_rows = 1, expert_rows = 1;
  int bits = 4;
  const float* tables = nullptr;
  bool f16_tables = false;           // every table entry is exactly an f16 value (the LUT type is f16)
  const float* row_scale = nullptr;  // per stacked row, or nullptr
  const float* col_scale = nullptr;  // dequantize: per expert and column, or nullptr
  // matmul: x already multiplied by the column scales
  const float* x = nullptr;
  std::size_t m = 1, x_stride = 0;
  float* y = nullptr;
  std::size_t y_stride = 0;
  bool int8 = false;  // numerics::int8: tables and x quantized to int8 (kernels/lut_int8-inl.hpp)
  // gather_qmv: n_routes routes of `rows` rows each (one expert's), route k into
  // y + k * y_stride; the job's own indices/tables/row_scale are then unused. The
  // mat-vecs run all routes in one parallel loop, each x row prepared once.
  const lut_route* routes = nullptr;
  std::size_t n_routes = 0;
  std::size_t t0 = 0, t1 = 0;  // set by for_lut_route_rows: the view's activation rows
  // dequantize
  void* out = nullptr;
  elem_kind out_kind = elem_kind::f32;
  bool stream = false;  // as dequant_job::stream
  executor ex{};
};

/// fn(view, begin, end) for rows [begin, end) of every route on j.ex (a job without
/// routes is one route over all m activation rows): the view is j with the route's
/// indices, tables, row scales and output, activation rows [t0, t1), row t's outputs at
/// y + (t - t0) * y_stride. About 4 tasks per thread in all, row ranges aligned to `align`.
template <class Fn>
void for_lut_route_rows(const lut_job& j, std::size_t align, Fn&& fn) {
  const std::size_t routes = j.routes != nullptr ? j.n_routes : 1;
  for_each_route_rows(j.ex, routes, j.rows, align, [&](std::size_t k, std::size_t b, std::size_t e) {
    lut_job v = j;
    v.t0 = 0, v.t1 = j.m;
    if (j.routes != nullptr) {
      const lut_route& r = j.routes[k];
      v.indices = r.indices, v.tables = r.tables, v.row_scale = r.row_scale;
      v.t0 = r.x_row, v.t1 = r.x_row + 1;
      v.y = j.y + k * j.y_stride;
    }
    fn(static_cast<const lut_job&>(v), b, e);
  });
}

}  // namespace lowbit::kernels
