// lowbit_quant.glsl: reading MLX-format weights (affine / mxfp4 / mxfp8 / nvfp4).
// Included after lowbit_common.glsl. Defines a variant sets:
//   MODE        0 = affine, 1 = mxfp4, 2 = mxfp8, 3 = nvfp4
//   BITS        2, 3, 4, 5, 6, 8 (fp modes: 4 or 8)
//   GROUP_SIZE  32, 64, 128 (nvfp4: 16)
// Work is done in blocks of 32 codes: 32*BITS bits = BITS whole uint32 words,
// so a block never straddles a word boundary and (GROUP_SIZE >= 32, or two
// halves for nvfp4) never straddles a scale group.
//
// Bindings: 0 packed (uint32 words; read through uvec2/uvec4 views of the same
// buffer when BITS is 2, 4 or 8), 1 scales, 2 biases (affine only).

#define MODE_AFFINE 0
#define MODE_MXFP4 1
#define MODE_MXFP8 2
#define MODE_NVFP4 3

#if GROUP_SIZE < 32
#define SUB GROUP_SIZE
#else
#define SUB 32
#endif
#define NSUB (32 / SUB)  // scale groups per 32-code block (2 for nvfp4)
#define CODE_MASK ((1u << BITS) - 1u)
#define POW2_BITS (BITS == 2 || BITS == 4 || BITS == 8)

layout(std430, binding = 0) readonly buffer PackedU32 { uint packed_u32[]; };
layout(std430, binding = 0) readonly buffer PackedV2 { uvec2 packed_v2[]; };
layout(std430, binding = 0) readonly buffer PackedV4 { uvec4 packed_v4[]; };

#if MODE == MODE_AFFINE
#if DTYPE == DTYPE_F32
layout(std430, binding = 1) readonly buffer Scales { float scales[]; };
layout(std430, binding = 2) readonly buffer Biases { float biases[]; };
float load_scale(uint i) { return scales[i]; }
float load_bias(uint i) { return biases[i]; }
#else
layout(std430, binding = 1) readonly buffer Scales { uint16_t scales[]; };
layout(std430, binding = 2) readonly buffer Biases { uint16_t biases[]; };
float load_scale(uint i) { return t16_to_float(uint(scales[i])); }
float load_bias(uint i) { return t16_to_float(uint(biases[i])); }
#endif
#else
layout(std430, binding = 1) readonly buffer Scales { uint8_t scales[]; };
#endif

// The BITS words of the block starting at word `word` (a multiple of BITS;
// of 4 when BITS is 4 or 8, of 2 when BITS is 2, because rows hold whole blocks).
void load_block(uint word, out uint w[BITS]) {
#if BITS == 4
  uvec4 v = packed_v4[word >> 2];
  w[0] = v.x; w[1] = v.y; w[2] = v.z; w[3] = v.w;
#elif BITS == 8
  uvec4 a = packed_v4[word >> 2];
  uvec4 b = packed_v4[(word >> 2) + 1u];
  w[0] = a.x; w[1] = a.y; w[2] = a.z; w[3] = a.w;
  w[4] = b.x; w[5] = b.y; w[6] = b.z; w[7] = b.w;
#elif BITS == 2
  uvec2 v = packed_v2[word >> 1];
  w[0] = v.x; w[1] = v.y;
#else
  [[unroll]] for (uint i = 0u; i < BITS; ++i) w[i] = packed_u32[word + i];
#endif
}

// Code j (0..31) of a block: stream bits [j*BITS, j*BITS+BITS), LSB first.
// j is a constant after unrolling, so the branch and shifts fold away.
uint block_code(uint w[BITS], uint j) {
  uint t = j * BITS;
  uint wi = t >> 5u;
  uint off = t & 31u;
  uint v = w[wi] >> off;
  if (off + BITS > 32u) v |= w[wi + 1u] << (32u - off);
  return v & CODE_MASK;
}

// E2M1: magnitudes {0,.5,1,1.5,2,3,4,6} = nibbles of 0xc8643210 halved; bit 3 is the sign.
float fp4_value(uint c) {
  uint mag2 = (0xc8643210u >> ((c & 7u) * 4u)) & 15u;
  float v = small_uint_to_float(mag2) * 0.5;
  return uintBitsToFloat(floatBitsToUint(v) | ((c & 8u) << 28));
}

// E4M3 "fn" (0x7f decodes to 480 like MLX). Normals: move e/m under the float's
// exponent/mantissa and scale by 2^120; subnormals m * 2^-9 (no float subnormals involved).
float fp8_value(uint c) {
  uint e = (c >> 3) & 15u;
  float v = e == 0u ? small_uint_to_float(c & 7u) * 0.001953125
                    : uintBitsToFloat((c & 0x7fu) << 20) * uintBitsToFloat(0x7b800000u);
  return uintBitsToFloat(floatBitsToUint(v) | ((c & 0x80u) << 24));
}

#if MODE != MODE_AFFINE
// The element a code stands for, before scaling.
float elem_value(uint c) {
#if MODE == MODE_MXFP8
  return fp8_value(c);
#else
  return fp4_value(c);
#endif
}

// Scale of group gi in float. E8M0: 2^(s-127) (s = 0 would be 2^-127, a float
// subnormal that GPUs may flush to zero; MLX's quantize never emits it for
// non-degenerate data). nvfp4: e4m3 scale times the global factor, formed
// first as MLX does.
float fp_scale(uint gi) {
  uint s = uint(scales[gi]);
#if MODE == MODE_NVFP4
  return fp8_value(s) * pc.nv_scale;
#else
  return uintBitsToFloat(s << 23);
#endif
}
#endif
