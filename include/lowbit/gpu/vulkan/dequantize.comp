#version 450
// dequantize: out[e][r][c] = the weight, rounded to DTYPE exactly as
// lowbit::reference::dequantize does (bit-exact). One invocation per 8 codes,
// so that consecutive invocations write consecutive 16-byte f16 vectors (with
// 32 codes per invocation the H100 reached 0.39x of copy bandwidth: the
// strided stores, not the arithmetic, were the limit). A 2-D grid keeps huge
// matrices within maxComputeWorkGroupCount.
// Dispatch: items = experts*rows*cols/8 (pushed as `count`),
//           groups = ceil(items / WG_SIZE) -> x = min(groups, 32768), y = ceil(groups / x).
// Affine (MODE 0) with f16 (DTYPE 1) computes in native f16x2 arithmetic:
// IEEE f16 multiply and add round exactly as MLX's f16 (q * scale) and
// (+ bias) do, two codes per instruction. Emulating that rounding in f32 (two
// add/subtract rounding tricks per code) left the H100 issue-bound at 0.65x of
// copy bandwidth. MODE/DTYPE as numbers: the #extension must come before the
// includes' declarations.
#define F16_MATH (MODE == 0 && DTYPE == 1)
#if F16_MATH
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
#include "lowbit_common.glsl"
#include "lowbit_quant.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;

// Output as 16-byte vectors: an item is 8 values = 2 (f32) or 1 (16-bit) uvec4.
layout(std430, binding = 4) writeonly buffer Out { uvec4 out_v4[]; };

// Code j (0..7) of an item whose codes start at bit `off` of the pair (lo, hi).
uint item_code(uint lo, uint hi, uint off, uint j) {
  uint t = off + j * BITS;
  uint v = t >= 32u ? hi >> (t - 32u) : (lo >> t) | (t == 0u ? 0u : hi << (32u - t));
  return v & CODE_MASK;
}

void main() {
  uint item = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG_SIZE + gl_LocalInvocationID.x;
  if (item >= pc.count) return;
  // 8 codes = 8*BITS bits from bit item*8*BITS; rows hold whole items (cols % 32 == 0).
  const uint first_bit = item * 8u * BITS;
  const uint wi = first_bit >> 5u, off = first_bit & 31u;
  const uint lo = packed_u32[wi];
  const uint hi = off + 8u * BITS > 32u ? packed_u32[wi + 1u] : 0u;
  const uint g = item * 8u / GROUP_SIZE;  // 8 codes never straddle a group (GROUP_SIZE >= 16)
#if F16_MATH
  // Scale and bias broadcast to both halves of an f16x2.
  const f16vec2 s2 = unpackFloat2x16(uint(scales[g]) * 0x10001u);
  const f16vec2 b2 = unpackFloat2x16(uint(biases[g]) * 0x10001u);
  uvec4 o;
  [[unroll]] for (uint i = 0u; i < 4u; ++i) {
    // Codes 2i, 2i+1 ORed into the mantissas of f16 1024 (ulp 1 up to 2048):
    // (1024 + q) - 1024 = q exactly, no integer -> float conversion.
    const uint pair = item_code(lo, hi, off, 2u * i) | (item_code(lo, hi, off, 2u * i + 1u) << 16);
    precise f16vec2 q = unpackFloat2x16(pair | 0x64006400u) - f16vec2(1024.0hf);
    precise f16vec2 t = q * s2;
    // The rounded product made opaque with a runtime zero (pc.zero) so that no
    // compiler fuses it with the bias add into an FMA (one rounding, not MLX's two).
    precise f16vec2 u = unpackFloat2x16(packFloat2x16(t) | pc.zero) + b2;
    o[i] = packFloat2x16(u);
  }
  out_v4[item] = o;
#else
  float v[8];
#if MODE == MODE_AFFINE
  const float s = load_scale(g);
  const float b = load_bias(g);
  [[unroll]] for (uint j = 0u; j < 8u; ++j) {
    // MLX: (q * scale) then (+ bias), each rounded to the scales dtype, never
    // fused. `precise` alone does not survive spirv-opt's loop unrolling, so
    // the rounded product is also made opaque with a runtime zero (pc.zero).
    precise float t = small_uint_to_float(item_code(lo, hi, off, j)) * s;
    precise float u = uintBitsToFloat(floatBitsToUint(round_t(t)) | pc.zero) + b;
    v[j] = u;
  }
#else
#if MODE == MODE_NVFP4
  const float s = fp_scale(g);
#else
  const float s = round_t(fp_scale(g));  // MLX forms 2^(s-127) in the output dtype
#endif
  [[unroll]] for (uint j = 0u; j < 8u; ++j) {
    precise float t = elem_value(item_code(lo, hi, off, j)) * s;
    v[j] = t;
  }
#endif
#if DTYPE == DTYPE_F32
  out_v4[item * 2u] = floatBitsToUint(vec4(v[0], v[1], v[2], v[3]));
  out_v4[item * 2u + 1u] = floatBitsToUint(vec4(v[4], v[5], v[6], v[7]));
#else
  uint o[4];
  [[unroll]] for (uint i = 0u; i < 4u; ++i) o[i] = float_to_t16(v[2u * i]) | (float_to_t16(v[2u * i + 1u]) << 16);
  out_v4[item] = uvec4(o[0], o[1], o[2], o[3]);
#endif
#endif  // F16_MATH
}
