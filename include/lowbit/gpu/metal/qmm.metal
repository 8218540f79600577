// qmm: y[m][rows] = x[m][cols] W^T with threadgroup-memory tiles.
// Tile 32 (x rows) x 32 (weight rows) x 32 (cols); 128 threads. Per K step
// every thread stages 8 x values and dequantizes 8 weight codes (8 codes are
// always whole bytes and inside one group) into float tiles, a barrier, then
// a 4x2 register block of FMAs per thread, a barrier. Edges (m, rows and a
// final partial K step for nvfp4's group of 16) are zero-filled, so every
// thread runs the same loop and reaches every barrier.
// Grid: (ceil(rows/32), ceil(m/32)) threadgroups of 128 threads.
// This is the portable fallback; a simdgroup_matrix variant is not shipped.

constant constexpr uint LOWBIT_QMM_BM = 32;  // rows of x per tile
constant constexpr uint LOWBIT_QMM_BN = 32;  // weight rows (outputs) per tile
constant constexpr uint LOWBIT_QMM_BK = 32;  // cols per K step
constant constexpr uint LOWBIT_QMM_LD = LOWBIT_QMM_BK + 1;  // padded row: no bank conflicts on column reads

// Weight loaders: dequantize the 8 codes of weight row n starting at col k
// into dst as float. Affine weights are rounded to T after each op, as MLX's
// qmm (which dequantizes into T tiles) and lowbit's reference do.
template <typename T, int group_size, int bits>
struct lowbit_qmm_affine_loader {
  static inline void load8(const device uint32_t* packed, const device T* scales, const device T* biases,
                           uint cols, float global_scale, uint n, uint k, threadgroup float* dst) {
    const ulong first = ulong(n) * cols + k;
    const device uint8_t* p = (const device uint8_t*)packed + first * uint(bits) / 8u;
    const float scale = float(scales[first / uint(group_size)]);
    const float bias = float(biases[first / uint(group_size)]);
#pragma clang loop unroll(full)
    for (uint i = 0; i < 8u; ++i) {
      const float product = float(T(float(lowbit_code_at<bits>(p, i)) * scale));
      dst[i] = float(T(product + bias));
    }
  }
};

template <typename T, int mode>
struct lowbit_qmm_fp_loader {
  static inline void load8(const device uint32_t* packed, const device uint8_t* scales, const device T* biases,
                           uint cols, float global_scale, uint n, uint k, threadgroup float* dst) {
    constexpr int bits = lowbit_fp_bits(mode);
    const ulong first = ulong(n) * cols + k;
    const device uint8_t* p = (const device uint8_t*)packed + first * uint(bits) / 8u;
    const float scale = lowbit_fp_scale<mode>(uint(scales[first / uint(lowbit_fp_group_size(mode))]), global_scale);
#pragma clang loop unroll(full)
    for (uint i = 0; i < 8u; ++i) dst[i] = lowbit_fp_element<mode>(lowbit_code_at<bits>(p, i)) * scale;
  }
};

template <typename T, typename S, typename Loader>
inline void lowbit_qmm_impl(const device uint32_t* packed, const device S* scales, const device T* biases,
                            const device T* x, device T* y, constant lowbit_quant_args& args, uint2 tgid, uint tid,
                            threadgroup float* xs, threadgroup float* ws) {
  const uint n_rows = args.rows;
  const uint cols = args.cols;
  const uint m_rows = args.m;
  const uint n0 = tgid.x * LOWBIT_QMM_BN;
  const uint m0 = tgid.y * LOWBIT_QMM_BM;
  // Loader role: tile row lr, 8 cols from lc.
  const uint lr = tid / 4u;
  const uint lc = (tid % 4u) * 8u;
  // Compute role: x rows m0+tm*4+i, weight rows n0+tn*2+j.
  const uint tn = tid % 16u;
  const uint tm = tid / 16u;
  float acc[4][2] = {{0.0f, 0.0f}, {0.0f, 0.0f}, {0.0f, 0.0f}, {0.0f, 0.0f}};

  for (uint k0 = 0; k0 < cols; k0 += LOWBIT_QMM_BK) {
    const uint k = k0 + lc;
    const uint m = m0 + lr;
    const bool k_ok = k < cols;
#pragma clang loop unroll(full)
    for (uint i = 0; i < 8u; ++i) {
      xs[lr * LOWBIT_QMM_LD + lc + i] = (m < m_rows && k_ok) ? float(x[ulong(m) * cols + k + i]) : 0.0f;
    }
    const uint n = n0 + lr;
    if (n < n_rows && k_ok) {
      Loader::load8(packed, scales, biases, cols, args.global_scale, n, k, ws + lr * LOWBIT_QMM_LD + lc);
    } else {
#pragma clang loop unroll(full)
      for (uint i = 0; i < 8u; ++i) ws[lr * LOWBIT_QMM_LD + lc + i] = 0.0f;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint kk = 0; kk < LOWBIT_QMM_BK; ++kk) {
      float a[4];
      float b[2];
#pragma clang loop unroll(full)
      for (uint i = 0; i < 4u; ++i) a[i] = xs[(tm * 4u + i) * LOWBIT_QMM_LD + kk];
#pragma clang loop unroll(full)
      for (uint j = 0; j < 2u; ++j) b[j] = ws[(tn * 2u + j) * LOWBIT_QMM_LD + kk];
#pragma clang loop unroll(full)
      for (uint i = 0; i < 4u; ++i) {
#pragma clang loop unroll(full)
        for (uint j = 0; j < 2u; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]);
      }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  for (uint i = 0; i < 4u; ++i) {
    const uint m = m0 + tm * 4u + i;
    for (uint j = 0; j < 2u; ++j) {
      const uint n = n0 + tn * 2u + j;
      if (m < m_rows && n < n_rows) y[ulong(m) * n_rows + n] = T(acc[i][j]);
    }
  }
}

template <typename T, int group_size, int bits>
[[kernel]] void lowbit_qmm_affine(const device uint32_t* packed [[buffer(0)]], const device T* scales [[buffer(1)]],
                                  const device T* biases [[buffer(2)]], const device T* x [[buffer(3)]],
                                  device T* y [[buffer(4)]], constant lowbit_quant_args& args [[buffer(6)]],
                                  uint2 tgid [[threadgroup_position_in_grid]],
                                  uint tid [[thread_index_in_threadgroup]]) {
  threadgroup float xs[LOWBIT_QMM_BM * LOWBIT_QMM_LD];
  threadgroup float ws[LOWBIT_QMM_BN * LOWBIT_QMM_LD];
  lowbit_qmm_impl<T, T, lowbit_qmm_affine_loader<T, group_size, bits>>(packed, scales, biases, x, y, args, tgid, tid, xs, ws);
}

template <typename T, int mode>
[[kernel]] void lowbit_qmm_fp(const device uint32_t* packed [[buffer(0)]], const device uint8_t* scales [[buffer(1)]],
                              const device T* x [[buffer(3)]], device T* y [[buffer(4)]],
                              constant lowbit_quant_args& args [[buffer(6)]],
                              uint2 tgid [[threadgroup_position_in_grid]],
                              uint tid [[thread_index_in_threadgroup]]) {
  threadgroup float xs[LOWBIT_QMM_BM * LOWBIT_QMM_LD];
  threadgroup float ws[LOWBIT_QMM_BN * LOWBIT_QMM_LD];
  lowbit_qmm_impl<T, uint8_t, lowbit_qmm_fp_loader<T, mode>>(packed, scales, (const device T*)nullptr, x, y, args,
                                                              tgid, tid, xs, ws);
}

// Instantiation lists: host names are the manifest's variant names.
#define LOWBIT_QMM_AFFINE(tname, type, gs, b)                                       \
  template [[host_name("qmm_affine_b" #b "_g" #gs "_" #tname)]] [[kernel]] \
  decltype(lowbit_qmm_affine<type, gs, b>) lowbit_qmm_affine<type, gs, b>;
#define LOWBIT_QMM_AFFINE_BITS(tname, type, gs) \
  LOWBIT_QMM_AFFINE(tname, type, gs, 2)         \
  LOWBIT_QMM_AFFINE(tname, type, gs, 3)         \
  LOWBIT_QMM_AFFINE(tname, type, gs, 4)         \
  LOWBIT_QMM_AFFINE(tname, type, gs, 5)         \
  LOWBIT_QMM_AFFINE(tname, type, gs, 6)         \
  LOWBIT_QMM_AFFINE(tname, type, gs, 8)
#define LOWBIT_QMM_AFFINE_TYPE(tname, type) \
  LOWBIT_QMM_AFFINE_BITS(tname, type, 32)   \
  LOWBIT_QMM_AFFINE_BITS(tname, type, 64)   \
  LOWBIT_QMM_AFFINE_BITS(tname, type, 128)
LOWBIT_QMM_AFFINE_TYPE(f32, float)
LOWBIT_QMM_AFFINE_TYPE(f16, half)
LOWBIT_QMM_AFFINE_TYPE(bf16, bfloat)

#define LOWBIT_QMM_FP(mname, mode, tname, type)                      \
  template [[host_name("qmm_" #mname "_" #tname)]] [[kernel]] \
  decltype(lowbit_qmm_fp<type, mode>) lowbit_qmm_fp<type, mode>;
#define LOWBIT_QMM_FP_TYPE(tname, type)                 \
  LOWBIT_QMM_FP(mxfp4, LOWBIT_MXFP4, tname, type) \
  LOWBIT_QMM_FP(mxfp8, LOWBIT_MXFP8, tname, type) \
  LOWBIT_QMM_FP(nvfp4, LOWBIT_NVFP4, tname, type)
LOWBIT_QMM_FP_TYPE(f32, float)
LOWBIT_QMM_FP_TYPE(f16, half)
LOWBIT_QMM_FP_TYPE(bf16, bfloat)
