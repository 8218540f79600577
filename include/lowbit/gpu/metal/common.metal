// lowbit Metal kernels: the shared preamble. Every program a host compiles is
// this file followed by ONE kernel file (dequantize, qmv, qmm, gather_qmv,
// lut); lowbit::gpu::metal::programs holds the joined text. Written in the
// house subset of MSL documented in README.md (it is also what the CPU
// emulation in tests/metal_emulation executes).
#include <metal_stdlib>
using namespace metal;

// The `constant` argument struct of every quantized-weight kernel, bound at
// [[buffer(6)]]. Mirrored in C++ by lowbit::gpu::metal::quant_args (offsets
// checked there and by the emulation). Each kernel reads the fields it needs.
struct lowbit_quant_args {
  uint rows;           // output features per expert
  uint cols;           // input features (a multiple of the group size)
  uint m;              // qmm: rows of x
  uint tokens;         // gather_qmv: tokens
  uint top_k;          // gather_qmv: experts per token
  uint experts;        // experts in the stack (ids are validated on the host)
  uint chunks;         // dequantize: experts*rows*cols/8 (one thread per 8 values)
  float global_scale;  // nvfp4 only; 0 = none
};

// The argument struct of the LUT (palettized) kernels, [[buffer(6)]].
struct lowbit_lut_args {
  uint rows;        // output rows
  uint cols;        // input features
  uint group_size;  // output rows sharing one LUT; 0 = one LUT for the tensor
  uint chunks;      // lut_dequantize: ceil(rows*cols/8)
};

// Template argument `mode` of the fp kernels (affine kernels are separate
// templates because they bind biases).
constant constexpr int LOWBIT_MXFP4 = 1;
constant constexpr int LOWBIT_MXFP8 = 2;
constant constexpr int LOWBIT_NVFP4 = 3;

constexpr int lowbit_fp_bits(int mode) { return mode == LOWBIT_MXFP8 ? 8 : 4; }
constexpr int lowbit_fp_group_size(int mode) { return mode == LOWBIT_NVFP4 ? 16 : 32; }

// FP4 E2M1 code -> value; bit 3 is the sign.
constant float lowbit_fp4_values[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                        -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

// FP8 E4M3 ("fn") code -> float, total like MLX (0x7F decodes to 480).
inline float lowbit_e4m3_to_float(uint c) {
  const uint e = (c >> 3) & 15u;
  const uint mant = c & 7u;
  // Subnormals are m * 2^-9; normals are built directly as float bits.
  const float v = e == 0u ? float(mant) * 0.001953125f : as_type<float>(((e + 120u) << 23) | (mant << 20));
  return (c & 128u) != 0u ? -v : v;
}

// E8M0 scale byte -> 2^(s-127); 0 is the subnormal 2^-127, 255 is +inf.
inline float lowbit_e8m0_to_float(uint s) { return as_type<float>(s == 0u ? 0x00400000u : s << 23); }

// The scale of one fp-mode group as a float (nvfp4: the e4m3 scale times
// global_scale/2688 when a global scale is given, the factor formed first).
template <int mode>
inline float lowbit_fp_scale(uint s, float global_scale) {
  if (mode == LOWBIT_NVFP4) {
    float scale = lowbit_e4m3_to_float(s);
    if (global_scale != 0.0f) scale = scale * precise::divide(global_scale, 2688.0f);
    return scale;
  }
  return lowbit_e8m0_to_float(s);
}

// The element value of one fp-mode code (before scaling).
template <int mode>
inline float lowbit_fp_element(uint code) {
  return mode == LOWBIT_MXFP8 ? lowbit_e4m3_to_float(code) : lowbit_fp4_values[code & 15u];
}

// Code i (0-based) of an LSB-first bit stream that starts at byte p. With i a
// compile-time constant after unrolling, the shifts are constants; a code of
// up to 8 bits touches at most two bytes.
template <int bits>
inline uint lowbit_code_at(const device uint8_t* p, uint i) {
  const uint bit = i * uint(bits);
  const uint rel = bit & 7u;
  uint v = uint(p[bit >> 3]) >> rel;
  if (rel + uint(bits) > 8u) v |= uint(p[(bit >> 3) + 1u]) << (8u - rel);
  return v & ((1u << bits) - 1u);
}
