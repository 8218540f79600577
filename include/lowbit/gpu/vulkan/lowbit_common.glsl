// lowbit_common.glsl: element types, exact rounding and the push constants
// shared by every lowbit Vulkan kernel. Included (after the variant's defines)
// by the .comp files; lowbit::gpu::vulkan::glsl_source() expands the include.
//
// Defines every variant sets (see manifest.hpp):
//   DTYPE      0 = f32, 1 = f16, 2 = bf16: the "model dtype" (affine scales and
//              biases, activations x, outputs y / out; LUT table entries)
//   USE_SUBGROUP 1 = reduce with subgroupAdd (any subgroup width), 0 = shared memory only
// 16-bit values are converted with integer code because Vulkan leaves the
// rounding of float -> f16 conversions implementation-defined and lowbit's
// dequantize is bit-exact with MLX (round to nearest even).

#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_8bit_storage : require
#extension GL_EXT_control_flow_attributes : require
#if USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

#define DTYPE_F32 0
#define DTYPE_F16 1
#define DTYPE_BF16 2

// Keep in sync with lowbit::gpu::vulkan::push_params (static_assert'ed there).
layout(push_constant, std430) uniform Params {
  uint rows;       // output rows of one matrix (out features)
  uint cols;       // input columns (in features)
  uint experts;    // matrices in the stack (gather), else 1
  uint m;          // qmm: rows of x; gather_qmv: tokens
  uint top_k;      // gather_qmv: slots per token
  float nv_scale;  // nvfp4: global_scale / 2688, or 1 when there is no global scale
  uint lut_group;  // LUT: output rows per table (0 = one table)
  uint count;      // copy: words to copy; dequantize: work items
  uint zero;       // always 0: ORed into a product to keep compilers from fusing it into an FMA
}
pc;

float f16_bits_to_float(uint h) { return unpackHalf2x16(h).x; }

// float -> binary16 bits, round to nearest even, overflow to inf, NaN kept.
// Same cases as lowbit::detail::float_to_f16_bits (core/half.hpp).
uint float_to_f16_bits(float f) {
  uint x = floatBitsToUint(f);
  uint sign = (x >> 16) & 0x8000u;
  uint ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return sign | (ax > 0x7f800000u ? 0x7e00u : 0x7c00u);
  if (ax >= 0x477ff000u) return sign | 0x7c00u;
  if (ax < 0x38800000u) {  // f16 subnormal (or zero): shift the mantissa, round half even
    if (ax < 0x33000000u) return sign;  // < 2^-25 rounds to zero (2^-25 itself ties to 0)
    uint e = ax >> 23;
    uint mant = (ax & 0x7fffffu) | 0x800000u;
    uint sh = 126u - e;  // 14..24
    uint q = mant >> sh;
    uint rem = mant & ((1u << sh) - 1u);
    uint half_ = 1u << (sh - 1u);
    if (rem > half_ || (rem == half_ && (q & 1u) != 0u)) q += 1u;
    return sign | q;
  }
  uint odd = (ax >> 13) & 1u;
  return sign | ((ax + 0xc8000fffu + odd) >> 13);
}

uint float_to_bf16_bits(float f) {
  uint x = floatBitsToUint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (x >> 16) | 0x40u;
  return (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
}

// 16-bit storage bits of the model dtype <-> float.
float t16_to_float(uint b) {
#if DTYPE == DTYPE_BF16
  return uintBitsToFloat(b << 16);
#else
  return f16_bits_to_float(b);
#endif
}
uint float_to_t16(float f) {
#if DTYPE == DTYPE_BF16
  return float_to_bf16_bits(f);
#else
  return float_to_f16_bits(f);
#endif
}

// Rounds a float to the model dtype's precision (identity for f32).
float round_t(float f) {
#if DTYPE == DTYPE_F32
  return f;
#else
  return t16_to_float(float_to_t16(f));
#endif
}

// Small non-negative integer -> float without an int->float conversion
// (quarter rate on NVIDIA): OR it into the mantissa of 2^23, subtract 2^23.
// Exact for v < 2^23; also used on masked-in-place codes (v = q << p).
float small_uint_to_float(uint v) { return uintBitsToFloat(v | 0x4b000000u) - 8388608.0; }

// Two 16-bit values (low half first) -> floats.
vec2 t16x2_to_float(uint w) {
#if DTYPE == DTYPE_BF16
  return vec2(uintBitsToFloat(w << 16), uintBitsToFloat(w & 0xffff0000u));
#else
  return unpackHalf2x16(w);
#endif
}
