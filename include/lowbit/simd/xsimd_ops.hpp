// The ops layer on xsimd, for the architecture the translation unit is
// compiled for (xsimd::default_arch follows -m flags). Float arithmetic goes
// through xsimd batches; the byte-level ops xsimd 8.1 lacks (pshufb, widening
// byte loads, f16/bf16 conversion) use the matching intrinsics when the TU's
// flags enable them, else a lane loop. Contract: see scalar_ops.hpp.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <xsimd/xsimd.hpp>

#include "lowbit/core/half.hpp"

namespace lowbit::simd {

template <class Arch = xsimd::default_arch>
struct xsimd_ops {
  using vf = xsimd::batch<float, Arch>;
  using vi = xsimd::batch<std::uint32_t, Arch>;
  using vb = xsimd::batch<std::uint8_t, Arch>;
  using vidx = vb;
  static constexpr std::size_t N = vf::size;
  /// pmaddubsw for this lane count in this TU (dot_u8s8's fast non-VNNI path).
#if defined(__AVX512BW__)
  static constexpr bool has_maddubs_512 = true;
#else
  static constexpr bool has_maddubs_512 = false;
#endif
#if defined(__AVX2__)
  static constexpr bool has_maddubs_256 = true;
#else
  static constexpr bool has_maddubs_256 = false;
#endif
#if defined(__SSSE3__)
  static constexpr bool has_maddubs_128 = true;
#else
  static constexpr bool has_maddubs_128 = false;
#endif
  static constexpr bool has_maddubs =
      (N == 16 && has_maddubs_512) || (N == 8 && has_maddubs_256) || (N == 4 && has_maddubs_128);

  static const char* name() noexcept { return Arch::name(); }

  static vf zero() noexcept { return vf(0.0f); }
  static vf set(float v) noexcept { return vf(v); }
  static vf load(const float* p) noexcept { return vf::load_unaligned(p); }
  static void store(vf v, float* p) noexcept { v.store_unaligned(p); }
  static vf add(vf a, vf b) noexcept { return a + b; }
  static vf mul(vf a, vf b) noexcept { return a * b; }
  static vf fma(vf a, vf b, vf c) noexcept { return xsimd::fma(a, b, c); }
  static vf fence(vf v) noexcept {
#if defined(__GNUC__) && defined(__AVX512F__)
    auto r = static_cast<typename vf::register_type>(v);
    __asm__("" : "+v"(r));
    return vf(r);
#elif defined(__GNUC__) && (defined(__SSE2__) || defined(__AVX__))
    auto r = static_cast<typename vf::register_type>(v);
    __asm__("" : "+x"(r));
    return vf(r);
#else
    alignas(64) volatile float t[N];
    for (std::size_t i = 0; i < N; ++i) t[i] = v.get(i);
    alignas(64) float u[N];
    for (std::size_t i = 0; i < N; ++i) u[i] = t[i];
    return vf::load_aligned(u);
#endif
  }
  static float sum(vf v) noexcept { return xsimd::hadd(v); }

  static vi seti(std::uint32_t v) noexcept { return vi(v); }
  static vi load_i(const std::uint32_t* p) noexcept { return vi::load_unaligned(p); }
  static void store_i(vi v, std::uint32_t* p) noexcept { v.store_unaligned(p); }
  static vi load_u8(const std::uint8_t* p) noexcept {
#if defined(__AVX512F__)
    if constexpr (N == 16)
      return vi(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#endif
#if defined(__AVX2__)
    if constexpr (N == 8)
      return vi(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
#endif
#if defined(__SSE4_1__)
    if constexpr (N == 4) {
      std::int32_t w;
      std::memcpy(&w, p, 4);
      return vi(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(w)));
    }
#endif
    alignas(64) std::uint32_t t[N];
    for (std::size_t i = 0; i < N; ++i) t[i] = p[i];
    return vi::load_aligned(t);
  }
  static vi load_u16(const std::uint16_t* p) noexcept {
#if defined(__AVX512F__)
    if constexpr (N == 16)
      return vi(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
#endif
#if defined(__AVX2__)
    if constexpr (N == 8)
      return vi(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#endif
    alignas(64) std::uint32_t t[N];
    for (std::size_t i = 0; i < N; ++i) t[i] = p[i];
    return vi::load_aligned(t);
  }
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
  static vi shrv(vi a, vi c) noexcept {
#if defined(__AVX512F__)
    if constexpr (N == 16) return vi(_mm512_srlv_epi32(a, c));
#endif
#if defined(__AVX2__)
    if constexpr (N == 8) return vi(_mm256_srlv_epi32(a, c));
    if constexpr (N == 4) return vi(_mm_srlv_epi32(a, c));
#endif
    alignas(64) std::uint32_t x[N], s[N];
    a.store_aligned(x);
    c.store_aligned(s);
    for (std::size_t i = 0; i < N; ++i) x[i] >>= s[i];
    return vi::load_aligned(x);
  }
  static vi addi(vi a, vi b) noexcept { return a + b; }
  /// VNNI where the TU enables it; else pmaddubsw + pmaddwd (exact for MaxA <= 63, larger codes
  /// go through their two nibbles: a.b = lo.b + 16 hi.b); else a lane loop.
  template <int MaxA>
  static vi dot_u8s8(vi acc, vi a, vi b) noexcept {
#if defined(__AVX512VNNI__)
    if constexpr (N == 16) return vi(_mm512_dpbusd_epi32(acc, a, b));
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    if constexpr (N == 8) return vi(_mm256_dpbusd_epi32(acc, a, b));
#endif
    if constexpr (MaxA > 63 && has_maddubs) {
      const vi m = vi(0x0f0f0f0fu);
      return addi(dot_u8s8<15>(acc, a & m, b), dot_u8s8<15>(vi(0u), (a >> 4) & m, b) << 4);
    }
#if defined(__AVX512BW__)
    if constexpr (N == 16)
      return vi(_mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(a, b), _mm512_set1_epi16(1))));
#endif
#if defined(__AVX2__)
    if constexpr (N == 8)
      return vi(_mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1))));
#endif
#if defined(__SSSE3__)
    if constexpr (N == 4)
      return vi(_mm_add_epi32(acc, _mm_madd_epi16(_mm_maddubs_epi16(a, b), _mm_set1_epi16(1))));
#endif
    alignas(64) std::uint32_t x[N], y[N], s[N];
    a.store_aligned(x);
    b.store_aligned(y);
    acc.store_aligned(s);
    for (std::size_t i = 0; i < N; ++i)
      for (int k = 0; k < 4; ++k)
        s[i] +=
            static_cast<std::uint32_t>(static_cast<std::int32_t>((x[i] >> (8 * k)) & 0xffu) *
                                       static_cast<std::int8_t>(static_cast<std::uint8_t>(y[i] >> (8 * k))));
    return vi::load_aligned(s);
  }
  static vf to_f32(vi v) noexcept {
    return xsimd::to_float(xsimd::bitwise_cast<xsimd::batch<std::int32_t, Arch>>(v));
  }
  static vf as_f32(vi v) noexcept { return xsimd::bitwise_cast<vf>(v); }
  static vi as_u32(vf v) noexcept { return xsimd::bitwise_cast<vi>(v); }

  static vb load_dup16(const std::uint8_t* p) noexcept {
#if defined(__AVX512F__)
    if constexpr (N == 16)
      return vb(_mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#endif
#if defined(__AVX2__)
    if constexpr (N == 8)
      return vb(_mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#endif
    alignas(64) std::uint8_t t[4 * N];
    for (std::size_t i = 0; i < 4 * N; ++i) t[i] = p[i % 16];
    return vb::load_aligned(t);
  }
  static vidx load_idx(const std::uint8_t* idx) noexcept { return vb::load_unaligned(idx); }
  static vidx as_idx(vi v) noexcept { return xsimd::bitwise_cast<vidx>(v); }
  static vi lookup_bytes(vb t, vidx idx) noexcept {
#if defined(__AVX512BW__)
    if constexpr (N == 16) return vi(_mm512_shuffle_epi8(t, idx));
#endif
#if defined(__AVX2__)
    if constexpr (N == 8) return vi(_mm256_shuffle_epi8(t, idx));
#endif
#if defined(__SSSE3__)
    if constexpr (N == 4) return vi(_mm_shuffle_epi8(t, idx));
#endif
    alignas(64) std::uint8_t tb[4 * N], ib[4 * N], r[4 * N];
    t.store_aligned(tb);
    idx.store_aligned(ib);
    for (std::size_t i = 0; i < 4 * N; ++i)
      r[i] = ib[i] & 0x80 ? 0 : tb[(i & ~std::size_t{15}) + (ib[i] & 15)];
    return xsimd::bitwise_cast<vi>(vb::load_aligned(r));
  }

  struct table16 {
    vf lo, hi;  // entries 0..N-1 and N..2N-1 (AVX-512 uses lo only)
    const float* p;
  };
  static table16 load_table16(const float* t) noexcept {
    if constexpr (N >= 16)
      return {vf::load_unaligned(t), vf(0.0f), t};
    else if constexpr (N == 8)
      return {vf::load_unaligned(t), vf::load_unaligned(t + 8), t};
    else
      return {vf(0.0f), vf(0.0f), t};
  }
  static vf lookup16(const table16& t, vi idx) noexcept {
#if defined(__AVX512F__)
    if constexpr (N == 16) return vf(_mm512_permutexvar_ps(idx, t.lo));
#endif
#if defined(__AVX2__)
    if constexpr (N == 8) {
      const __m256 lo = _mm256_permutevar8x32_ps(t.lo, idx), hi = _mm256_permutevar8x32_ps(t.hi, idx);
      return vf(_mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28))));
    }
#endif
    alignas(64) std::uint32_t i[N];
    alignas(64) float r[N];
    idx.store_aligned(i);
    for (std::size_t k = 0; k < N; ++k) r[k] = t.p[i[k] & 15u];
    return vf::load_aligned(r);
  }

  static vf load_f16(const f16* p) noexcept {
#if defined(__AVX512F__)
    if constexpr (N == 16)
      return vf(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
#endif
#if defined(__F16C__)
    if constexpr (N == 8) return vf(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#endif
    alignas(64) float t[N];
    for (std::size_t i = 0; i < N; ++i) t[i] = to_float(p[i]);
    return vf::load_aligned(t);
  }
  static vf load_bf16(const bf16* p) noexcept {
    return as_f32(shl<16>(load_u16(reinterpret_cast<const std::uint16_t*>(p))));
  }
  static void store_f16(vf v, f16* p) noexcept {
#if defined(__AVX512F__)
    if constexpr (N == 16) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
      return;
    }
#endif
#if defined(__F16C__)
    if constexpr (N == 8) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
      return;
    }
#endif
    alignas(64) float t[N];
    v.store_aligned(t);
    for (std::size_t i = 0; i < N; ++i) p[i] = f16(t[i]);
  }
  static vi bf16_bits(vf v) noexcept {
    const vi x = as_u32(v);
    const vi rounded = (x + (vi(0x7fffu) + ((x >> 16) & vi(1u)))) >> 16;
    const vi nan = xsimd::bitwise_cast<vi>(
        xsimd::select(xsimd::isnan(v), vf(std::bit_cast<float>(0xffffffffu)), vf(0.0f)));
    return (((x >> 16) | vi(0x40u)) & nan) | (rounded & ~nan);
  }
  static void store_bf16(vf v, bf16* p) noexcept {
    const vi b = bf16_bits(v);
#if defined(__AVX512F__)
    if constexpr (N == 16) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(b));
      return;
    }
#endif
    alignas(64) std::uint32_t t[N];
    b.store_aligned(t);
    for (std::size_t i = 0; i < N; ++i) p[i] = bf16::from_bits(static_cast<std::uint16_t>(t[i]));
  }
  static vf round_f16(vf v) noexcept {
#if defined(__AVX512F__)
    if constexpr (N == 16) return vf(_mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)));
#endif
#if defined(__F16C__)
    if constexpr (N == 8) return vf(_mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)));
#endif
    alignas(64) float t[N];
    v.store_aligned(t);
    for (std::size_t i = 0; i < N; ++i) t[i] = to_float(f16(t[i]));
    return vf::load_aligned(t);
  }
  static vf round_bf16(vf v) noexcept { return as_f32(shl<16>(bf16_bits(v))); }
};

}  // namespace lowbit::simd
