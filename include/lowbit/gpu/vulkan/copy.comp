#version 450
// copy: dst[i] = src[i] over `count` 16-byte vectors. The bandwidth baseline a
// benchmark measures in the same run as the kernels it rates.
// Dispatch: groups = ceil(count / WG_SIZE) -> x = min(groups, 32768), y = ceil(groups / x).
#include "lowbit_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;

layout(std430, binding = 0) readonly buffer Src { uvec4 src[]; };
layout(std430, binding = 1) writeonly buffer Dst { uvec4 dst[]; };

void main() {
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG_SIZE + gl_LocalInvocationID.x;
  if (i < pc.count) dst[i] = src[i];
}
