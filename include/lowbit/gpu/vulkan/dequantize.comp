#version 450
// dequantize: out[e][r][c] = the weight, rounded to DTYPE exactly as
// lowbit::reference::dequantize does (bit-exact). One invocation per 32-code
// block; a 2-D grid so that huge matrices stay within maxComputeWorkGroupCount.
// Dispatch: items = experts*rows*cols/32 (pushed as `count`),
//           groups = ceil(items / WG_SIZE) -> x = min(groups, 32768), y = ceil(groups / x).
#include "lowbit_common.glsl"
#include "lowbit_quant.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;

// Output as 16-byte vectors: a block is 32 values = 8 (f32) or 4 (16-bit) uvec4.
layout(std430, binding = 4) writeonly buffer Out { uvec4 out_v4[]; };

void main() {
  uint item = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG_SIZE + gl_LocalInvocationID.x;
  if (item >= pc.count) return;
  uint w[BITS];
  load_block(item * BITS, w);
  // Blocks never straddle rows (cols % 32 == 0), so the group index is linear.
  uint g0 = item * 32u / GROUP_SIZE;
  float v[32];
#if MODE == MODE_AFFINE
  float s = load_scale(g0);
  float b = load_bias(g0);
  [[unroll]] for (uint j = 0u; j < 32u; ++j) {
    // MLX: (q * scale) then (+ bias), each rounded to the scales dtype, never fused.
    precise float t = small_uint_to_float(block_code(w, j)) * s;
    precise float u = round_t(t) + b;
    v[j] = u;
  }
#else
  [[unroll]] for (uint h = 0u; h < NSUB; ++h) {
#if MODE == MODE_NVFP4
    float s = fp_scale(g0 + h);
#else
    float s = round_t(fp_scale(g0 + h));  // MLX forms 2^(s-127) in the output dtype
#endif
    [[unroll]] for (uint j = h * SUB; j < (h + 1u) * SUB; ++j) {
      precise float t = elem_value(block_code(w, j)) * s;
      v[j] = t;
    }
  }
#endif
#if DTYPE == DTYPE_F32
  [[unroll]] for (uint i = 0u; i < 8u; ++i)
    out_v4[item * 8u + i] = uvec4(floatBitsToUint(v[4u * i]), floatBitsToUint(v[4u * i + 1u]),
                                  floatBitsToUint(v[4u * i + 2u]), floatBitsToUint(v[4u * i + 3u]));
#else
  uint o[16];
  [[unroll]] for (uint i = 0u; i < 16u; ++i) o[i] = float_to_t16(v[2u * i]) | (float_to_t16(v[2u * i + 1u]) << 16);
  [[unroll]] for (uint i = 0u; i < 4u; ++i)
    out_v4[item * 4u + i] = uvec4(o[4u * i], o[4u * i + 1u], o[4u * i + 2u], o[4u * i + 3u]);
#endif
}
