// qmv and gather_qmv: y = W x for one x vector (per token and expert for the
// gather). Design (compared with MLX's qmv_fast in README.md):
//  - threadgroup of 64 threads = 2 simdgroups of 32; each simdgroup owns 4
//    consecutive output rows, so a threadgroup covers 8 rows (MLX's shape);
//  - lane l handles `values_per_thread` consecutive inputs at
//    k = l*vpt + j*32*vpt, loads them once and reuses them for the 4 rows;
//  - affine: x is pre-scaled by 2^-shift of each code inside a 16- or 24-bit
//    window that starts on a byte, so the weight bits are masked but never
//    shifted, and the bias is folded as bias*sum(x) (MLX's trick, extended
//    here to 3-, 5- and 6-bit windows);
//  - partial sums reduced with simd_sum, lane 0 writes; no threadgroup memory
//    and no barrier, so simdgroups run independently.
// Unlike MLX there is no separate bounds-checked kernel: cols is a multiple of
// the group size, which vpt divides, so a lane's chunk is never partial; tail
// rows are clamped for loading and masked for writing.

constant constexpr uint LOWBIT_QMV_ROWS_PER_SIMD = 4;
constant constexpr uint LOWBIT_QMV_SIMDS = 2;
constant constexpr uint LOWBIT_QMV_ROWS_PER_GROUP = LOWBIT_QMV_ROWS_PER_SIMD * LOWBIT_QMV_SIMDS;

// Inputs per lane and step: 16 for 2..5 bits, 8 for 6 and 8 bits (as MLX);
// always a whole number of bytes of codes and a divisor of every group size.
constexpr int lowbit_qmv_vpt(int bits) { return bits >= 6 ? 8 : 16; }
// Codes per window: a window starts on a byte and spans at most 24 bits, so
// a masked, unshifted code (< 2^24) is exact in float.
constexpr int lowbit_window_codes(int bits) { return (bits == 2 || bits == 3) ? 8 : bits == 8 ? 1 : 4; }
constexpr int lowbit_window_bytes(int bits) { return bits == 8 ? 1 : (bits == 2 || bits == 4) ? 2 : 3; }
// First byte of the window holding code i, and the code's shift inside it.
constexpr int lowbit_window_byte(int bits, int i) {
  return (i / lowbit_window_codes(bits)) * lowbit_window_codes(bits) * bits / 8;
}
constexpr int lowbit_window_shift(int bits, int i) { return i * bits - 8 * lowbit_window_byte(bits, i); }

// Loads vpt inputs as float pre-divided by 2^shift of their code; returns sum(x).
template <typename T, int bits>
inline float lowbit_load_x_prescaled(const device T* x, thread float* xs) {
  constexpr int vpt = lowbit_qmv_vpt(bits);
  float sum = 0.0f;
#pragma clang loop unroll(full)
  for (int i = 0; i < vpt; ++i) {
    const float v = float(x[i]);
    sum += v;
    xs[i] = v * (1.0f / float(1u << lowbit_window_shift(bits, i)));
  }
  return sum;
}

// scale * sum(xs * masked codes) + bias * sum(x) over one lane's chunk.
template <int bits>
inline float lowbit_qdot_affine(const device uint8_t* w, thread const float* xs, float xsum, float scale,
                                float bias) {
  constexpr int vpt = lowbit_qmv_vpt(bits);
  constexpr int per_window = lowbit_window_codes(bits);
  constexpr int nbytes = lowbit_window_bytes(bits);
  float acc = 0.0f;
#pragma clang loop unroll(full)
  for (int j = 0; j < vpt / per_window; ++j) {
    const int b0 = lowbit_window_byte(bits, j * per_window);
    uint window = uint(w[b0]);
    if (nbytes > 1) window |= uint(w[b0 + 1]) << 8;
    if (nbytes > 2) window |= uint(w[b0 + 2]) << 16;
#pragma clang loop unroll(full)
    for (int i = 0; i < per_window; ++i) {
      const int c = j * per_window + i;
      const uint mask = ((1u << bits) - 1u) << lowbit_window_shift(bits, c);
      acc += xs[c] * float(window & mask);
    }
  }
  return scale * acc + bias * xsum;
}

// One simdgroup's 4 rows for affine weights; pointers already at the expert
// and token. Rows past `rows` are computed on row rows-1 and not written.
template <typename T, int group_size, int bits>
inline void lowbit_qmv_affine_rows(const device uint32_t* packed, const device T* scales,
                                   const device T* biases, const device T* x, device T* y, uint rows,
                                   uint cols, uint row0, uint lane) {
  constexpr int vpt = lowbit_qmv_vpt(bits);
  const uint row_bytes = cols * uint(bits) / 8u;
  const uint groups = cols / uint(group_size);
  const device uint8_t* wbytes = (const device uint8_t*)packed;
  float acc[LOWBIT_QMV_ROWS_PER_SIMD] = {0.0f, 0.0f, 0.0f, 0.0f};
  float xs[vpt];
  for (uint k = lane * uint(vpt); k < cols; k += 32u * uint(vpt)) {
    const float xsum = lowbit_load_x_prescaled<T, bits>(x + k, xs);
    const uint group = k / uint(group_size);
#pragma clang loop unroll(full)
    for (uint r = 0; r < LOWBIT_QMV_ROWS_PER_SIMD; ++r) {
      const uint row = min(row0 + r, rows - 1u);
      const device uint8_t* w = wbytes + ulong(row) * row_bytes + k * uint(bits) / 8u;
      const ulong g = ulong(row) * groups + group;
      acc[r] += lowbit_qdot_affine<bits>(w, xs, xsum, float(scales[g]), float(biases[g]));
    }
  }
#pragma clang loop unroll(full)
  for (uint r = 0; r < LOWBIT_QMV_ROWS_PER_SIMD; ++r) acc[r] = simd_sum(acc[r]);
  if (lane == 0u) {
    for (uint r = 0; r < LOWBIT_QMV_ROWS_PER_SIMD && row0 + r < rows; ++r) y[row0 + r] = T(acc[r]);
  }
}

// The fp-mode twin: codes decoded through the element table, no bias.
template <typename T, int mode>
inline void lowbit_qmv_fp_rows(const device uint32_t* packed, const device uint8_t* scales,
                               const device T* x, device T* y, uint rows, uint cols, float global_scale,
                               uint row0, uint lane) {
  constexpr int bits = lowbit_fp_bits(mode);
  constexpr int group_size = lowbit_fp_group_size(mode);
  constexpr int vpt = lowbit_qmv_vpt(bits);
  constexpr int per_word = 32 / bits;
  const uint row_words = cols * uint(bits) / 32u;
  const uint groups = cols / uint(group_size);
  float acc[LOWBIT_QMV_ROWS_PER_SIMD] = {0.0f, 0.0f, 0.0f, 0.0f};
  float xv[vpt];
  for (uint k = lane * uint(vpt); k < cols; k += 32u * uint(vpt)) {
#pragma clang loop unroll(full)
    for (int i = 0; i < vpt; ++i) xv[i] = float(x[k + uint(i)]);
    const uint group = k / uint(group_size);
#pragma clang loop unroll(full)
    for (uint r = 0; r < LOWBIT_QMV_ROWS_PER_SIMD; ++r) {
      const uint row = min(row0 + r, rows - 1u);
      const device uint32_t* w = packed + ulong(row) * row_words + k / uint(per_word);
      float dot = 0.0f;
#pragma clang loop unroll(full)
      for (int i = 0; i < vpt; ++i) {
        const uint code = (w[i / per_word] >> ((i % per_word) * bits)) & ((1u << bits) - 1u);
        dot += xv[i] * lowbit_fp_element<mode>(code);
      }
      acc[r] += lowbit_fp_scale<mode>(uint(scales[ulong(row) * groups + group]), global_scale) * dot;
    }
  }
#pragma clang loop unroll(full)
  for (uint r = 0; r < LOWBIT_QMV_ROWS_PER_SIMD; ++r) acc[r] = simd_sum(acc[r]);
  if (lane == 0u) {
    for (uint r = 0; r < LOWBIT_QMV_ROWS_PER_SIMD && row0 + r < rows; ++r) y[row0 + r] = T(acc[r]);
  }
}

// Grid: ceil(rows/8) threadgroups of 64 threads.
template <typename T, int group_size, int bits>
[[kernel]] void lowbit_qmv_affine(const device uint32_t* packed [[buffer(0)]], const device T* scales [[buffer(1)]],
                                  const device T* biases [[buffer(2)]], const device T* x [[buffer(3)]],
                                  device T* y [[buffer(4)]], constant lowbit_quant_args& args [[buffer(6)]],
                                  uint tgid [[threadgroup_position_in_grid]],
                                  uint simd [[simdgroup_index_in_threadgroup]],
                                  uint lane [[thread_index_in_simdgroup]]) {
  const uint row0 = tgid * LOWBIT_QMV_ROWS_PER_GROUP + simd * LOWBIT_QMV_ROWS_PER_SIMD;
  if (row0 >= args.rows) return;  // the whole simdgroup leaves together
  lowbit_qmv_affine_rows<T, group_size, bits>(packed, scales, biases, x, y, args.rows, args.cols, row0, lane);
}

template <typename T, int mode>
[[kernel]] void lowbit_qmv_fp(const device uint32_t* packed [[buffer(0)]], const device uint8_t* scales [[buffer(1)]],
                              const device T* x [[buffer(3)]], device T* y [[buffer(4)]],
                              constant lowbit_quant_args& args [[buffer(6)]],
                              uint tgid [[threadgroup_position_in_grid]],
                              uint simd [[simdgroup_index_in_threadgroup]],
                              uint lane [[thread_index_in_simdgroup]]) {
  const uint row0 = tgid * LOWBIT_QMV_ROWS_PER_GROUP + simd * LOWBIT_QMV_ROWS_PER_SIMD;
  if (row0 >= args.rows) return;
  lowbit_qmv_fp_rows<T, mode>(packed, scales, x, y, args.rows, args.cols, args.global_scale, row0, lane);
}

// gather_qmv: slot s = t*top_k + j of grid.y computes y[s] = W[ids[s]] x[t].
// Grid: (ceil(rows/8), tokens*top_k) threadgroups of 64 threads. Expert ids
// must be < experts (checked by the host; the kernel trusts them).
template <typename T, int group_size, int bits>
[[kernel]] void lowbit_gather_qmv_affine(
    const device uint32_t* packed [[buffer(0)]], const device T* scales [[buffer(1)]],
    const device T* biases [[buffer(2)]], const device T* x [[buffer(3)]], device T* y [[buffer(4)]],
    const device uint32_t* ids [[buffer(5)]], constant lowbit_quant_args& args [[buffer(6)]],
    uint2 tgid [[threadgroup_position_in_grid]], uint simd [[simdgroup_index_in_threadgroup]],
    uint lane [[thread_index_in_simdgroup]]) {
  const uint row0 = tgid.x * LOWBIT_QMV_ROWS_PER_GROUP + simd * LOWBIT_QMV_ROWS_PER_SIMD;
  if (row0 >= args.rows) return;
  const uint slot = tgid.y;
  const ulong expert = ids[slot];
  const ulong expert_groups = ulong(args.rows) * (args.cols / uint(group_size));
  const ulong expert_words = ulong(args.rows) * (args.cols * uint(bits) / 32u);
  lowbit_qmv_affine_rows<T, group_size, bits>(
      packed + expert * expert_words, scales + expert * expert_groups, biases + expert * expert_groups,
      x + ulong(slot / args.top_k) * args.cols, y + ulong(slot) * args.rows, args.rows, args.cols, row0, lane);
}

template <typename T, int mode>
[[kernel]] void lowbit_gather_qmv_fp(const device uint32_t* packed [[buffer(0)]],
                                     const device uint8_t* scales [[buffer(1)]], const device T* x [[buffer(3)]],
                                     device T* y [[buffer(4)]], const device uint32_t* ids [[buffer(5)]],
                                     constant lowbit_quant_args& args [[buffer(6)]],
                                     uint2 tgid [[threadgroup_position_in_grid]],
                                     uint simd [[simdgroup_index_in_threadgroup]],
                                     uint lane [[thread_index_in_simdgroup]]) {
  const uint row0 = tgid.x * LOWBIT_QMV_ROWS_PER_GROUP + simd * LOWBIT_QMV_ROWS_PER_SIMD;
  if (row0 >= args.rows) return;
  const uint slot = tgid.y;
  const ulong expert = ids[slot];
  const ulong expert_groups = ulong(args.rows) * (args.cols / uint(lowbit_fp_group_size(mode)));
  const ulong expert_words = ulong(args.rows) * (args.cols * uint(lowbit_fp_bits(mode)) / 32u);
  lowbit_qmv_fp_rows<T, mode>(packed + expert * expert_words, scales + expert * expert_groups,
                              x + ulong(slot / args.top_k) * args.cols, y + ulong(slot) * args.rows, args.rows,
                              args.cols, args.global_scale, row0, lane);
}

// Instantiation lists: host names are the manifest's variant names.
#define LOWBIT_QMV_AFFINE(kname, fn, tname, type, gs, b)                       \
  template [[host_name(#kname "_affine_b" #b "_g" #gs "_" #tname)]] [[kernel]] \
  decltype(fn<type, gs, b>) fn<type, gs, b>;
#define LOWBIT_QMV_AFFINE_BITS(kname, fn, tname, type, gs) \
  LOWBIT_QMV_AFFINE(kname, fn, tname, type, gs, 2)         \
  LOWBIT_QMV_AFFINE(kname, fn, tname, type, gs, 3)         \
  LOWBIT_QMV_AFFINE(kname, fn, tname, type, gs, 4)         \
  LOWBIT_QMV_AFFINE(kname, fn, tname, type, gs, 5)         \
  LOWBIT_QMV_AFFINE(kname, fn, tname, type, gs, 6)         \
  LOWBIT_QMV_AFFINE(kname, fn, tname, type, gs, 8)
#define LOWBIT_QMV_AFFINE_TYPE(kname, fn, tname, type) \
  LOWBIT_QMV_AFFINE_BITS(kname, fn, tname, type, 32)   \
  LOWBIT_QMV_AFFINE_BITS(kname, fn, tname, type, 64)   \
  LOWBIT_QMV_AFFINE_BITS(kname, fn, tname, type, 128)
#define LOWBIT_QMV_FP(kname, fn, mname, mode, tname, type)                  \
  template [[host_name(#kname "_" #mname "_" #tname)]] [[kernel]] \
  decltype(fn<type, mode>) fn<type, mode>;
#define LOWBIT_QMV_FP_TYPE(kname, fn, tname, type)               \
  LOWBIT_QMV_FP(kname, fn, mxfp4, LOWBIT_MXFP4, tname, type) \
  LOWBIT_QMV_FP(kname, fn, mxfp8, LOWBIT_MXFP8, tname, type) \
  LOWBIT_QMV_FP(kname, fn, nvfp4, LOWBIT_NVFP4, tname, type)
#define LOWBIT_QMV_ALL(kname, affine_fn, fp_fn)      \
  LOWBIT_QMV_AFFINE_TYPE(kname, affine_fn, f32, float) \
  LOWBIT_QMV_AFFINE_TYPE(kname, affine_fn, f16, half)  \
  LOWBIT_QMV_AFFINE_TYPE(kname, affine_fn, bf16, bfloat) \
  LOWBIT_QMV_FP_TYPE(kname, fp_fn, f32, float)         \
  LOWBIT_QMV_FP_TYPE(kname, fp_fn, f16, half)          \
  LOWBIT_QMV_FP_TYPE(kname, fp_fn, bf16, bfloat)
LOWBIT_QMV_ALL(qmv, lowbit_qmv_affine, lowbit_qmv_fp)
LOWBIT_QMV_ALL(gather_qmv, lowbit_gather_qmv_affine, lowbit_gather_qmv_fp)
