#version 450
// lut_qmv: y[r] = sum_c lut[group(r)][index(r, c)] * x[c], f32 accumulation.
// A workgroup computes ROWS rows, its threads stride over the columns (any
// cols: LUT rows need not be whole words). Reduction as in qmv.comp.
// Dispatch: x = ceil(rows / ROWS).
#include "lowbit_common.glsl"
#include "lowbit_lut.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 128;
layout(constant_id = 1) const uint ROWS = 4;  // 1..MAX_ROWS
// Per-row arrays have the compile-time size MAX_ROWS and loops run to it with
// an `r < ROWS` test, so spirv-opt can unroll them and keep the arrays in
// registers; the driver folds the test once ROWS is specialised.
#define MAX_ROWS 8u

#if DTYPE == DTYPE_F32
layout(std430, binding = 3) readonly buffer X { float x[]; };
layout(std430, binding = 4) writeonly buffer Y { float y[]; };
float load_x(uint i) { return x[i]; }
void store_y(uint i, float v) { y[i] = v; }
#else
layout(std430, binding = 3) readonly buffer X { uint16_t x[]; };
layout(std430, binding = 4) writeonly buffer Y { uint16_t y[]; };
float load_x(uint i) { return t16_to_float(uint(x[i])); }
void store_y(uint i, float v) { y[i] = uint16_t(float_to_t16(v)); }
#endif

shared float red[ROWS][WG_SIZE];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.x * ROWS;
  uvec2 start[MAX_ROWS];
  uint base[MAX_ROWS];
  float acc[MAX_ROWS];
  [[unroll]] for (uint r = 0u; r < MAX_ROWS; ++r) if (r < ROWS) {
    const uint row = min(row0 + r, pc.rows - 1u);
    start[r] = lut_row_start(row);
    base[r] = lut_base(row);
    acc[r] = 0.0;
  }
  for (uint c = tid; c < pc.cols; c += WG_SIZE) {
    const float xv = load_x(c);
    [[unroll]] for (uint r = 0u; r < MAX_ROWS; ++r) if (r < ROWS)
      acc[r] += lut_value(base[r] + lut_code(start[r].x, start[r].y + c * LUT_BITS)) * xv;
  }
#if USE_SUBGROUP
  [[unroll]] for (uint r = 0u; r < MAX_ROWS; ++r) if (r < ROWS) {
    const float s = subgroupAdd(acc[r]);
    if (subgroupElect()) red[r][gl_SubgroupID] = s;
  }
  barrier();
  if (tid < ROWS && row0 + tid < pc.rows) {
    float s = 0.0;
    for (uint i = 0u; i < gl_NumSubgroups; ++i) s += red[tid][i];
    store_y(row0 + tid, s);
  }
#else
  [[unroll]] for (uint r = 0u; r < MAX_ROWS; ++r) if (r < ROWS) red[r][tid] = acc[r];
  barrier();
  for (uint s = WG_SIZE / 2u; s > 0u; s >>= 1u) {
    if (tid < s)
      [[unroll]] for (uint r = 0u; r < MAX_ROWS; ++r) if (r < ROWS) red[r][tid] += red[r][tid + s];
    barrier();
  }
  if (tid < ROWS && row0 + tid < pc.rows) store_y(row0 + tid, red[tid][0]);
#endif
}
