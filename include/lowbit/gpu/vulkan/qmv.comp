#version 450
// qmv: y[r] = sum_c W[r][c] x[c], and with GATHER=1 the MoE form
// y[t][j][r] = W[ids[t*top_k + j]][r] . x[t] (the expert of each slot read from
// a buffer on the device). Accumulation in f32.
// A workgroup computes ROWS rows; its WG_SIZE threads stride over the row's
// 32-code blocks, so consecutive threads read consecutive 16-byte chunks and
// each thread reuses its 32 activations for all ROWS rows. Reduction: subgroupAdd
// + shared memory across subgroups (USE_SUBGROUP=1, any subgroup width) or a
// shared-memory tree (USE_SUBGROUP=0; WG_SIZE must be a power of two).
// Dispatch: x = ceil(rows / ROWS), y = 1 (qmv) or tokens*top_k (gather).
#include "lowbit_common.glsl"
#include "lowbit_quant.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 128;
layout(constant_id = 1) const uint ROWS = 4;  // 1..MAX_ROWS
// Per-row arrays have the compile-time size MAX_ROWS and loops run to it with
// an `r < ROWS` test, so spirv-opt can unroll them and keep the arrays in
// registers; the driver folds the test once ROWS is specialised.
#define MAX_ROWS 8u

layout(std430, binding = 3) readonly buffer X { uvec4 x_v4[]; };
#if DTYPE == DTYPE_F32
layout(std430, binding = 4) writeonly buffer Y { float y[]; };
void store_y(uint i, float v) { y[i] = v; }
#else
layout(std430, binding = 4) writeonly buffer Y { uint16_t y[]; };
void store_y(uint i, float v) { y[i] = uint16_t(float_to_t16(v)); }
#endif
#if GATHER
layout(std430, binding = 5) readonly buffer Ids { uint ids[]; };
#endif

shared float red[ROWS][WG_SIZE];

// Activations of block starting at element `e` (a multiple of 32). For affine
// 2/4/8-bit codes, x[j] is pre-divided by 2^(p mod 16), p the code's bit offset
// in its word, so codes can be used masked in place (see block_dot). sum_x is
// the plain sum (it multiplies the bias).
void load_x(uint e, out float xs[32], out float sum_x) {
#if DTYPE == DTYPE_F32
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    uvec4 v = x_v4[(e >> 2) + i];
    xs[4u * i] = uintBitsToFloat(v.x);
    xs[4u * i + 1u] = uintBitsToFloat(v.y);
    xs[4u * i + 2u] = uintBitsToFloat(v.z);
    xs[4u * i + 3u] = uintBitsToFloat(v.w);
  }
#else
  [[unroll]] for (uint i = 0u; i < 4u; ++i) {
    uvec4 v = x_v4[(e >> 3) + i];
    vec2 a = t16x2_to_float(v.x), b = t16x2_to_float(v.y), c = t16x2_to_float(v.z), d = t16x2_to_float(v.w);
    xs[8u * i] = a.x; xs[8u * i + 1u] = a.y; xs[8u * i + 2u] = b.x; xs[8u * i + 3u] = b.y;
    xs[8u * i + 4u] = c.x; xs[8u * i + 5u] = c.y; xs[8u * i + 6u] = d.x; xs[8u * i + 7u] = d.y;
  }
#endif
  sum_x = 0.0;
#if MODE == MODE_AFFINE
  [[unroll]] for (uint j = 0u; j < 32u; ++j) sum_x += xs[j];
#if POW2_BITS
  [[unroll]] for (uint j = 0u; j < 32u; ++j) {
    uint p = ((j * BITS) & 31u) & 15u;
    xs[j] *= uintBitsToFloat((127u - p) << 23);  // exact power of two
  }
#endif
#endif
}

// dots[h] = sum over codes [h*SUB, (h+1)*SUB) of value(code) * xs.
void block_dot(uint w[BITS], float xs[32], out float dots[NSUB]) {
#if MODE == MODE_AFFINE && POW2_BITS
  // Code at bit p of word w is masked in place (p < 16) or in w >> 16, ORed
  // into the mantissa of 2^23: three ops per code, no shift, no int->float.
  float acc = 0.0;
  [[unroll]] for (uint i = 0u; i < BITS; ++i) {
    uint lo = w[i];
    uint hi = w[i] >> 16;
    [[unroll]] for (uint k = 0u; k < 32u / BITS; ++k) {
      uint p = k * BITS;
      uint v = p < 16u ? (lo & (CODE_MASK << p)) : (hi & (CODE_MASK << (p - 16u)));
      acc += (uintBitsToFloat(v | 0x4b000000u) - 8388608.0) * xs[i * (32u / BITS) + k];
    }
  }
  dots[0] = acc;
#else
  [[unroll]] for (uint h = 0u; h < NSUB; ++h) {
    float acc = 0.0;
    [[unroll]] for (uint j = h * SUB; j < (h + 1u) * SUB; ++j) {
#if MODE == MODE_AFFINE
      acc += small_uint_to_float(block_code(w, j)) * xs[j];
#else
      acc += elem_value(block_code(w, j)) * xs[j];
#endif
    }
    dots[h] = acc;
  }
#endif
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.x * ROWS;
  const uint wpr = pc.cols / 32u * BITS;  // words per row
  const uint gpr = pc.cols / GROUP_SIZE;  // scale groups per row
  const uint nblocks = pc.cols / 32u;
  uint mat_row = 0u;  // first row of this matrix in the expert stack
  uint x_elem = 0u;
  uint y_off = 0u;
  bool bad_id = false;
#if GATHER
  const uint slot = gl_WorkGroupID.y;
  const uint expert = ids[slot];
  bad_id = expert >= pc.experts;
  mat_row = (bad_id ? 0u : expert) * pc.rows;
  x_elem = (slot / pc.top_k) * pc.cols;
  y_off = slot * pc.rows;
#endif

  float acc[MAX_ROWS];
  [[unroll]] for (uint r = 0u; r < MAX_ROWS; ++r) if (r < ROWS) acc[r] = 0.0;

  for (uint blk = tid; blk < nblocks; blk += WG_SIZE) {
    float xs[32];
    float sum_x;
    load_x(x_elem + blk * 32u, xs, sum_x);
    [[unroll]] for (uint r = 0u; r < MAX_ROWS; ++r) if (r < ROWS) {
      const uint row = mat_row + min(row0 + r, pc.rows - 1u);  // tail rows recompute the last row
      uint w[BITS];
      load_block(row * wpr + blk * BITS, w);
      float dots[NSUB];
      block_dot(w, xs, dots);
      const uint g = row * gpr + blk * 32u / GROUP_SIZE;
#if MODE == MODE_AFFINE
      acc[r] += load_scale(g) * dots[0] + load_bias(g) * sum_x;
#else
      [[unroll]] for (uint h = 0u; h < NSUB; ++h) acc[r] += fp_scale(g + h) * dots[h];
#endif
    }
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
    store_y(y_off + row0 + tid, bad_id ? uintBitsToFloat(0x7fc00000u) : s);
  }
#else
  [[unroll]] for (uint r = 0u; r < MAX_ROWS; ++r) if (r < ROWS) red[r][tid] = acc[r];
  barrier();
  for (uint s = WG_SIZE / 2u; s > 0u; s >>= 1u) {
    if (tid < s)
      [[unroll]] for (uint r = 0u; r < MAX_ROWS; ++r) if (r < ROWS) red[r][tid] += red[r][tid + s];
    barrier();
  }
  if (tid < ROWS && row0 + tid < pc.rows)
    store_y(y_off + row0 + tid, bad_id ? uintBitsToFloat(0x7fc00000u) : red[tid][0]);
#endif
}
