// LUT (palettized) weights, CoreML iOS18 layout: `indices` is one LSB-first
// bit stream over the row-major [rows, cols] index matrix (bits 1..8, rows
// need not start on a byte), and output row r reads LUT r / group_size
// (group_size 0: one LUT) of 2^bits entries of T.

// Code of a stream at an arbitrary bit position; at most two bytes are read
// and only bytes that hold bits of this code.
template <int bits>
inline uint lowbit_code_at_bit(const device uint8_t* stream, ulong bit) {
  const ulong byte = bit >> 3;
  const uint rel = uint(bit & 7ul);
  uint v = uint(stream[byte]) >> rel;
  if (rel + uint(bits) > 8u) v |= uint(stream[byte + 1ul]) << (8u - rel);
  return v & ((1u << bits) - 1u);
}

inline uint lowbit_lut_group(uint row, uint group_size) { return group_size == 0u ? 0u : row / group_size; }

// lut_dequantize: one thread per 8 values of the flattened matrix (8 codes
// start on a byte). Grid: ceil(chunks/256) threadgroups of 256 threads,
// chunks = ceil(rows*cols/8).
template <typename T, int bits>
[[kernel]] void lowbit_lut_dequantize(const device uint8_t* indices [[buffer(0)]], const device T* lut [[buffer(1)]],
                                      device T* out [[buffer(4)]], constant lowbit_lut_args& args [[buffer(6)]],
                                      uint chunk [[thread_position_in_grid]]) {
  if (chunk >= args.chunks) return;
  const ulong total = ulong(args.rows) * args.cols;
  const ulong first = ulong(chunk) * 8ul;
  const device uint8_t* p = indices + ulong(chunk) * uint(bits);
  for (uint i = 0; i < 8u && first + i < total; ++i) {
    const uint row = uint((first + i) / args.cols);
    const uint code = lowbit_code_at<bits>(p, i);
    out[first + i] = lut[ulong(lowbit_lut_group(row, args.group_size)) * (1u << bits) + code];
  }
}

// lut_qmv: y = W x with W[r][c] = lut[group(r)][index(r, c)]. Same thread
// shape as qmv (2 simdgroups x 4 rows, simd_sum); lane l reads 8 consecutive
// inputs at c = 8l + 256j and reuses them for its 4 rows. Rows start at any
// bit, so codes are fetched with run-time shifts. Grid: ceil(rows/8)
// threadgroups of 64 threads.
template <typename T, int bits>
[[kernel]] void lowbit_lut_qmv(const device uint8_t* indices [[buffer(0)]], const device T* lut [[buffer(1)]],
                               const device T* x [[buffer(3)]], device T* y [[buffer(4)]],
                               constant lowbit_lut_args& args [[buffer(6)]],
                               uint tgid [[threadgroup_position_in_grid]],
                               uint simd [[simdgroup_index_in_threadgroup]],
                               uint lane [[thread_index_in_simdgroup]]) {
  const uint rows = args.rows;
  const uint cols = args.cols;
  const uint row0 = tgid * 8u + simd * 4u;
  if (row0 >= rows) return;  // the whole simdgroup leaves together
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (uint k = lane * 8u; k < cols; k += 256u) {
    const uint n = min(8u, cols - k);
    float xv[8];
#pragma clang loop unroll(full)
    for (uint i = 0; i < 8u; ++i) xv[i] = i < n ? float(x[k + i]) : 0.0f;
#pragma clang loop unroll(full)
    for (uint r = 0; r < 4u; ++r) {
      const uint row = min(row0 + r, rows - 1u);
      const device T* table = lut + ulong(lowbit_lut_group(row, args.group_size)) * (1u << bits);
      const ulong bit0 = (ulong(row) * cols + k) * uint(bits);
      float dot = 0.0f;
      for (uint i = 0; i < n; ++i) dot += xv[i] * float(table[lowbit_code_at_bit<bits>(indices, bit0 + i * uint(bits))]);
      acc[r] += dot;
    }
  }
#pragma clang loop unroll(full)
  for (uint r = 0; r < 4u; ++r) acc[r] = simd_sum(acc[r]);
  if (lane == 0u) {
    for (uint r = 0; r < 4u && row0 + r < rows; ++r) y[row0 + r] = T(acc[r]);
  }
}

// Instantiation lists: host names are the manifest's variant names.
#define LOWBIT_LUT(kname, fn, tname, type, b) \
  template [[host_name(#kname "_b" #b "_" #tname)]] [[kernel]] decltype(fn<type, b>) fn<type, b>;
#define LOWBIT_LUT_BITS(kname, fn, tname, type) \
  LOWBIT_LUT(kname, fn, tname, type, 1)         \
  LOWBIT_LUT(kname, fn, tname, type, 2)         \
  LOWBIT_LUT(kname, fn, tname, type, 3)         \
  LOWBIT_LUT(kname, fn, tname, type, 4)         \
  LOWBIT_LUT(kname, fn, tname, type, 5)         \
  LOWBIT_LUT(kname, fn, tname, type, 6)         \
  LOWBIT_LUT(kname, fn, tname, type, 7)         \
  LOWBIT_LUT(kname, fn, tname, type, 8)
#define LOWBIT_LUT_TYPES(kname, fn)          \
  LOWBIT_LUT_BITS(kname, fn, f32, float) \
  LOWBIT_LUT_BITS(kname, fn, f16, half)  \
  LOWBIT_LUT_BITS(kname, fn, bf16, bfloat)
LOWBIT_LUT_TYPES(lut_dequantize, lowbit_lut_dequantize)
LOWBIT_LUT_TYPES(lut_qmv, lowbit_lut_qmv)
