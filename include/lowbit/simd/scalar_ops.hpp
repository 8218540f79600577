// The ops layer's reference backend: one lane, plain C++. It also documents the
// ops contract every backend implements (xsimd_ops.hpp, highway_ops-inl.hpp):
//
//   N                      float / uint32 lanes of vf / vi
//   vf, vi                 N floats, N uint32 bit patterns
//   vb                     a 16-byte window as the byte-table operand of lookup_bytes
//   zero set load store add mul fma(a,b,c)=a*b+c sum(v)=horizontal add
//   fence(v)               v unchanged, but the compiler may not fuse the op that made
//                          v with the next one (MLX's dequantize rounds * and + apart)
//   seti load_i(N uint32) store_i load_u8(N bytes, zero-extended) load_u16 band bor shl<k> shr<k> shrv(a,
//   counts) to_f32 (value convert) as_f32 / as_u32 (bit casts) vidx, load_idx(4N bytes) byte-shuffle control;
//   load_dup16(p): 16 bytes at p in every
//                          128-bit block; lookup_bytes(t, idx) is
//                          pshufb: lane byte b = t[idx[b]], 0 when idx[b] >= 0x80; as_idx(vi) the
//                          same bits as a vidx (codes in bytes used as byte-table indices)
//   load_f16/bf16, store_f16/bf16 (RNE), round_f16/bf16 (RNE round trip)
//   table16, load_table16(16 floats), lookup16(t, idx < 16): a 16-entry float table lookup per lane
//   addi                   uint32 lane add (wraps: two's complement int32 sums)
//   dot_u8s8<MaxA>(acc, a, b) acc + the sum over each lane's 4 bytes of uint8(a) * int8(b), as int32
//                          (VNNI vpdpbusd); MaxA bounds a's bytes: <= 63 lets pmaddubsw, which
//                          saturates its int16 pair sums, compute it exactly without VNNI
//   optional (kernels test for it with a requires-expression; absent on most backends):
//   unpack_bytes<Bits>(p)  Bits in {3, 5, 6}: the 4N codes of the LSB-first stream at p (reads
//                          exactly 4N * Bits / 8 bytes), one per byte, in stream order
//   lookup_bytes64(t, idx) N == 16: byte b = byte (idx[b] & 63) of the 64-byte vector t
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "lowbit/core/half.hpp"
#include "lowbit/core/rounding.hpp"

namespace lowbit::simd {

struct scalar_ops {
  static constexpr std::size_t N = 1;
  using vf = float;
  using vi = std::uint32_t;
  using vb = const std::uint8_t*;  // one lane never needs more than the 2 bytes it indexes
  using vidx = std::uint32_t;      // the lane's 4 byte indices, little-endian

  static constexpr const char* name() noexcept { return "scalar"; }

  static vf zero() noexcept { return 0.0f; }
  static vf set(float v) noexcept { return v; }
  static vf load(const float* p) noexcept { return *p; }
  static void store(vf v, float* p) noexcept { *p = v; }
  static vf add(vf a, vf b) noexcept { return a + b; }
  static vf mul(vf a, vf b) noexcept { return a * b; }
  static vf fma(vf a, vf b, vf c) noexcept { return a * b + c; }
  static vf fence(vf v) noexcept { return detail::no_contract(v); }
  static float sum(vf v) noexcept { return v; }

  static vi seti(std::uint32_t v) noexcept { return v; }
  static vi load_i(const std::uint32_t* p) noexcept { return *p; }
  static void store_i(vi v, std::uint32_t* p) noexcept { *p = v; }
  static vi load_u8(const std::uint8_t* p) noexcept { return *p; }
  static vi load_u16(const std::uint16_t* p) noexcept { return *p; }
  static vi band(vi a, vi b) noexcept { return a & b; }
  static vi bor(vi a, vi b) noexcept { return a | b; }
  template <int K>
  static vi shl(vi a) noexcept {
    return a << K;
  }
  template <int K>
  static vi shr(vi a) noexcept {
    return a >> K;
  }
  static vi shrv(vi a, vi c) noexcept { return a >> c; }
  static vi addi(vi a, vi b) noexcept { return a + b; }
  template <int MaxA>
  static vi dot_u8s8(vi acc, vi a, vi b) noexcept {
    std::int64_t s = 0;
    for (int k = 0; k < 4; ++k)
      s += static_cast<std::int64_t>((a >> (8 * k)) & 0xffu) *
           static_cast<std::int8_t>(static_cast<std::uint8_t>(b >> (8 * k)));
    return acc + static_cast<std::uint32_t>(s);
  }
  static vf to_f32(vi v) noexcept { return static_cast<float>(static_cast<std::int32_t>(v)); }
  static vf as_f32(vi v) noexcept { return std::bit_cast<float>(v); }
  static vi as_u32(vf v) noexcept { return std::bit_cast<std::uint32_t>(v); }

  static vb load_dup16(const std::uint8_t* p) noexcept { return p; }
  static vidx load_idx(const std::uint8_t* idx) noexcept {
    std::uint32_t v;
    std::memcpy(&v, idx, 4);
    return v;
  }
  static vidx as_idx(vi v) noexcept { return v; }
  static vi lookup_bytes(vb t, vidx idx) noexcept {
    std::uint32_t r = 0;
    for (int b = 0; b < 4; ++b) {
      const unsigned i = (idx >> (8 * b)) & 0xffu;
      if (i < 0x80u) r |= static_cast<std::uint32_t>(t[i & 15u]) << (8 * b);
    }
    return r;
  }

  using table16 = const float*;
  static table16 load_table16(const float* t) noexcept { return t; }
  static vf lookup16(table16 t, vi idx) noexcept { return t[idx & 15u]; }

  static vf load_f16(const f16* p) noexcept { return to_float(*p); }
  static vf load_bf16(const bf16* p) noexcept { return to_float(*p); }
  static void store_f16(vf v, f16* p) noexcept { *p = f16(v); }
  static void store_bf16(vf v, bf16* p) noexcept { *p = bf16(v); }
  static vf round_f16(vf v) noexcept { return to_float(f16(v)); }
  static vf round_bf16(vf v) noexcept { return to_float(bf16(v)); }
};

}  // namespace lowbit::simd
