#version 450
// lut_dequantize: out[r][c] = lut[group(r)][index(r, c)], an exact copy of the
// table entry. One invocation per element.
// Dispatch: count = rows*cols, groups = ceil(count / WG_SIZE) -> x = min(groups, 32768), y = ceil(groups / x).
#include "lowbit_common.glsl"
#include "lowbit_lut.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;

#if DTYPE == DTYPE_F32
layout(std430, binding = 4) writeonly buffer Out { float out_f[]; };
#else
layout(std430, binding = 4) writeonly buffer Out { uint16_t out_h[]; };
#endif

void main() {
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG_SIZE + gl_LocalInvocationID.x;
  if (i >= pc.count) return;
  uint r = i / pc.cols, c = i - r * pc.cols;
  uvec2 s = lut_row_start(r);
  uint e = lut_base(r) + lut_code(s.x, s.y + c * LUT_BITS);
#if DTYPE == DTYPE_F32
  out_f[i] = lut[e];
#else
  out_h[i] = lut[e];
#endif
}
