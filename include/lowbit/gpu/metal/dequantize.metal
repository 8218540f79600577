// dequantize: packed MLX weights (affine or fp modes) -> dense Out, bit-exact
// with lowbit::reference::dequantize. One thread per 8 consecutive values:
// 8 codes are always a whole number of bytes (8*bits bits) and never straddle
// a group (every group size is a multiple of 16), and because rows of an
// expert stack are contiguous the byte offset of chunk c is simply c*bits.
// Grid: ceil(chunks/256) threadgroups of 256 threads, chunks = experts*rows*cols/8.

constant constexpr uint LOWBIT_DEQUANT_VALUES = 8;

// Affine: MLX computes scale*q then +bias in the scales dtype T, each op
// rounded to T. Out == T for these kernels; the float ops followed by a
// conversion give the same bits (float has > 2*11+2 significand bits).
template <typename T, int group_size, int bits>
[[kernel]] void lowbit_dequantize_affine(const device uint32_t* packed [[buffer(0)]],
                                         const device T* scales [[buffer(1)]],
                                         const device T* biases [[buffer(2)]], device T* out [[buffer(4)]],
                                         constant lowbit_quant_args& args [[buffer(6)]],
                                         uint chunk [[thread_position_in_grid]]) {
  if (chunk >= args.chunks) return;
  const ulong first = ulong(chunk) * LOWBIT_DEQUANT_VALUES;
  const device uint8_t* p = (const device uint8_t*)packed + ulong(chunk) * uint(bits);
  const ulong group = first / uint(group_size);
  const float scale = float(scales[group]);
  const float bias = float(biases[group]);
#pragma clang loop unroll(full)
  for (uint i = 0; i < LOWBIT_DEQUANT_VALUES; ++i) {
    const float product = float(T(float(lowbit_code_at<bits>(p, i)) * scale));
    out[first + i] = T(product + bias);
  }
}

// fp modes: mx scales are powers of two rounded to Out first (MLX computes
// them in Out); nvfp4 forms the float scale factor; one rounding to Out last.
template <typename Out, int mode>
[[kernel]] void lowbit_dequantize_fp(const device uint32_t* packed [[buffer(0)]],
                                     const device uint8_t* scales [[buffer(1)]], device Out* out [[buffer(4)]],
                                     constant lowbit_quant_args& args [[buffer(6)]],
                                     uint chunk [[thread_position_in_grid]]) {
  constexpr int bits = lowbit_fp_bits(mode);
  if (chunk >= args.chunks) return;
  const ulong first = ulong(chunk) * LOWBIT_DEQUANT_VALUES;
  const device uint8_t* p = (const device uint8_t*)packed + ulong(chunk) * uint(bits);
  float scale = lowbit_fp_scale<mode>(uint(scales[first / uint(lowbit_fp_group_size(mode))]), args.global_scale);
  if (mode != LOWBIT_NVFP4) scale = float(Out(scale));
#pragma clang loop unroll(full)
  for (uint i = 0; i < LOWBIT_DEQUANT_VALUES; ++i) {
    out[first + i] = Out(lowbit_fp_element<mode>(lowbit_code_at<bits>(p, i)) * scale);
  }
}

// Instantiation list: host names are the manifest's variant names.
#define LOWBIT_DEQUANT_AFFINE(tname, type, gs, b)                                       \
  template [[host_name("dequantize_affine_b" #b "_g" #gs "_" #tname)]] [[kernel]] \
  decltype(lowbit_dequantize_affine<type, gs, b>) lowbit_dequantize_affine<type, gs, b>;
#define LOWBIT_DEQUANT_AFFINE_BITS(tname, type, gs) \
  LOWBIT_DEQUANT_AFFINE(tname, type, gs, 2)         \
  LOWBIT_DEQUANT_AFFINE(tname, type, gs, 3)         \
  LOWBIT_DEQUANT_AFFINE(tname, type, gs, 4)         \
  LOWBIT_DEQUANT_AFFINE(tname, type, gs, 5)         \
  LOWBIT_DEQUANT_AFFINE(tname, type, gs, 6)         \
  LOWBIT_DEQUANT_AFFINE(tname, type, gs, 8)
#define LOWBIT_DEQUANT_AFFINE_TYPE(tname, type) \
  LOWBIT_DEQUANT_AFFINE_BITS(tname, type, 32)   \
  LOWBIT_DEQUANT_AFFINE_BITS(tname, type, 64)   \
  LOWBIT_DEQUANT_AFFINE_BITS(tname, type, 128)
LOWBIT_DEQUANT_AFFINE_TYPE(f32, float)
LOWBIT_DEQUANT_AFFINE_TYPE(f16, half)
LOWBIT_DEQUANT_AFFINE_TYPE(bf16, bfloat)

#define LOWBIT_DEQUANT_FP(mname, mode, tname, type)                      \
  template [[host_name("dequantize_" #mname "_" #tname)]] [[kernel]] \
  decltype(lowbit_dequantize_fp<type, mode>) lowbit_dequantize_fp<type, mode>;
#define LOWBIT_DEQUANT_FP_TYPE(tname, type)                 \
  LOWBIT_DEQUANT_FP(mxfp4, LOWBIT_MXFP4, tname, type) \
  LOWBIT_DEQUANT_FP(mxfp8, LOWBIT_MXFP8, tname, type) \
  LOWBIT_DEQUANT_FP(nvfp4, LOWBIT_NVFP4, tname, type)
LOWBIT_DEQUANT_FP_TYPE(f32, float)
LOWBIT_DEQUANT_FP_TYPE(f16, half)
LOWBIT_DEQUANT_FP_TYPE(bf16, bfloat)
