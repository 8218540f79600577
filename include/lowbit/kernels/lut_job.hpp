// The type-erased work description of the LUT kernels (kernels/lut-inl.hpp),
// shared by every backend that instantiates them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lowbit/core/executor.hpp"
#include "lowbit/kernels/job.hpp"

namespace lowbit::kernels {

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
  // dequantize
  void* out = nullptr;
  elem_kind out_kind = elem_kind::f32;
  executor ex{};
};

}  // namespace lowbit::kernels
