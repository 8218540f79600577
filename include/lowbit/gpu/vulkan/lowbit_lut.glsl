// lowbit_lut.glsl: reading palettized (LUT) weights. Defines: LUT_BITS (1..8),
// DTYPE (table, x and y dtype: 0 = f32, 1 = f16, 2 = bf16).
// Bindings: 0 indices (one LSB-first bit stream over the row-major [rows, cols]
// index matrix, read as uint32 words: bind the buffer with its size rounded up
// to a multiple of 4 bytes), 1 lut (one table of 2^LUT_BITS entries per
// `pc.lut_group` output rows; 0 = one table).

layout(std430, binding = 0) readonly buffer Indices { uint indices[]; };
#if DTYPE == DTYPE_F32
layout(std430, binding = 1) readonly buffer Lut { float lut[]; };
float lut_value(uint i) { return lut[i]; }
#else
layout(std430, binding = 1) readonly buffer Lut { uint16_t lut[]; };
float lut_value(uint i) { return t16_to_float(uint(lut[i])); }
#endif

// Stream position of element (r, 0): r*cols*LUT_BITS bits as (word, bit) without
// 32-bit overflow for tensors up to 2^32 words.
uvec2 lut_row_start(uint r) {
  uint q = pc.cols * LUT_BITS;
  uint lo = r * (q & 31u);
  return uvec2(r * (q >> 5u) + (lo >> 5u), lo & 31u);
}

// Index at bit offset `bit` (may exceed 31) from word `word`.
uint lut_code(uint word, uint bit) {
  uint wi = word + (bit >> 5u);
  uint off = bit & 31u;
  uint v = indices[wi] >> off;
  if (off + LUT_BITS > 32u) v |= indices[wi + 1u] << (32u - off);
  return v & ((1u << LUT_BITS) - 1u);
}

// First table entry of output row r.
uint lut_base(uint r) { return (pc.lut_group == 0u ? 0u : r / pc.lut_group) << LUT_BITS; }
