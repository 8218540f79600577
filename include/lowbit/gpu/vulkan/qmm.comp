#version 450
// qmm: y[i][r] = sum_c x[i][c] W[r][c] (x is [m, cols], y is [m, rows]).
// Shared-memory tiles: a workgroup of 256 threads owns a BM x BN tile of y and
// walks the K axis in steps of BK = 32 (one code block): 64 threads dequantize
// the W tile (one 32-code block each) to f32 in shared memory, all threads load
// the x tile, then every thread accumulates a 2 x 4 micro-tile.
// Dispatch: x = ceil(rows / 64), y = ceil(m / 32).
#include "lowbit_common.glsl"
#include "lowbit_quant.glsl"

#define BM 32u
#define BN 64u
#define BK 32u
layout(local_size_x = 256) in;

#if DTYPE == DTYPE_F32
layout(std430, binding = 3) readonly buffer X { uvec4 x_v4[]; };
layout(std430, binding = 4) writeonly buffer Y { float y[]; };
void store_y(uint i, float v) { y[i] = v; }
#else
layout(std430, binding = 3) readonly buffer X { uvec2 x_v2[]; };
layout(std430, binding = 4) writeonly buffer Y { uint16_t y[]; };
void store_y(uint i, float v) { y[i] = uint16_t(float_to_t16(v)); }
#endif

shared float w_tile[BN][BK + 1u];  // +1: no bank conflicts on the column walk
shared float x_tile[BM][BK + 1u];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint n0 = gl_WorkGroupID.x * BN;
  const uint m0 = gl_WorkGroupID.y * BM;
  const uint wpr = pc.cols / 32u * BITS;
  const uint gpr = pc.cols / GROUP_SIZE;
  const uint tx = tid % 16u, ty = tid / 16u;
  float acc[2][4];
  [[unroll]] for (uint i = 0u; i < 2u; ++i)
    [[unroll]] for (uint j = 0u; j < 4u; ++j) acc[i][j] = 0.0;

  for (uint kb = 0u; kb < pc.cols / BK; ++kb) {
    if (tid < BN) {
      const uint row = min(n0 + tid, pc.rows - 1u);
      uint w[BITS];
      load_block(row * wpr + kb * BITS, w);
      const uint g = row * gpr + kb * 32u / GROUP_SIZE;
#if MODE == MODE_AFFINE
      const float s = load_scale(g), b = load_bias(g);
      [[unroll]] for (uint j = 0u; j < 32u; ++j) w_tile[tid][j] = small_uint_to_float(block_code(w, j)) * s + b;
#else
      [[unroll]] for (uint h = 0u; h < NSUB; ++h) {
        const float s = fp_scale(g + h);
        [[unroll]] for (uint j = h * SUB; j < (h + 1u) * SUB; ++j) w_tile[tid][j] = elem_value(block_code(w, j)) * s;
      }
#endif
    }
    {
      const uint mi = tid / 8u, k4 = (tid % 8u) * 4u;
      const uint xm = m0 + mi;
      vec4 v = vec4(0.0);
      if (xm < pc.m) {
        const uint e = xm * pc.cols + kb * BK + k4;
#if DTYPE == DTYPE_F32
        v = uintBitsToFloat(x_v4[e >> 2]);
#else
        const uvec2 h = x_v2[e >> 2];
        v = vec4(t16x2_to_float(h.x), t16x2_to_float(h.y));
#endif
      }
      [[unroll]] for (uint j = 0u; j < 4u; ++j) x_tile[mi][k4 + j] = v[j];
    }
    barrier();
    [[unroll]] for (uint k = 0u; k < BK; ++k) {
      float xv[2], wv[4];
      [[unroll]] for (uint i = 0u; i < 2u; ++i) xv[i] = x_tile[ty + 16u * i][k];
      [[unroll]] for (uint j = 0u; j < 4u; ++j) wv[j] = w_tile[tx + 16u * j][k];
      [[unroll]] for (uint i = 0u; i < 2u; ++i)
        [[unroll]] for (uint j = 0u; j < 4u; ++j) acc[i][j] += xv[i] * wv[j];
    }
    barrier();
  }
  [[unroll]] for (uint i = 0u; i < 2u; ++i) {
    const uint xm = m0 + ty + 16u * i;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
      const uint n = n0 + tx + 16u * j;
      if (xm < pc.m && n < pc.rows) store_y(xm * pc.rows + n, acc[i][j]);
    }
  }
}
