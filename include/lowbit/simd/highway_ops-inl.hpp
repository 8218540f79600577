// The ops layer on Highway, compiled once per target. No include guard: it is
// included by lowbit/kernels/highway_targets-inl.hpp inside
// `namespace lowbit::HWY_NAMESPACE`, between HWY_BEFORE/AFTER_NAMESPACE, once
// per target that hwy/foreach_target.h enumerates. The contract is documented
// in scalar_ops.hpp.

namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// Highway's one-lane target has no byte vectors: it is the scalar backend.
struct hwy_ops : lowbit::simd::scalar_ops {
  static const char* name() noexcept { return hwy::TargetName(HWY_TARGET); }
};
#else
struct hwy_ops {
  using DF = hn::ScalableTag<float>;
  using DU = hn::RebindToUnsigned<DF>;
  using DI = hn::RebindToSigned<DF>;
  using DB = hn::Repartition<std::uint8_t, DF>;  // the full vector as bytes
  using DQ = hn::Rebind<std::uint8_t, DF>;       // N bytes
  using DH = hn::Rebind<std::uint16_t, DF>;      // N uint16
  using vf = hn::Vec<DF>;
  using vi = hn::Vec<DU>;
  using vb = hn::Vec<DB>;
  using vidx = hn::Vec<DB>;
  static constexpr std::size_t N = hn::MaxLanes(DF());

  // F16C (x86 AVX2 and up) and NEON convert f16 in hardware with RNE; the
  // other targets go lane by lane through lowbit::f16, which is exact too.
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_NEON
  static constexpr bool hw_f16 = true;
#else
  static constexpr bool hw_f16 = false;
#endif

  static const char* name() noexcept { return hwy::TargetName(HWY_TARGET); }

  static vf zero() { return hn::Zero(DF()); }
  static vf set(float v) { return hn::Set(DF(), v); }
  static vf load(const float* p) { return hn::LoadU(DF(), p); }
  static void store(vf v, float* p) { hn::StoreU(v, DF(), p); }
  static vf add(vf a, vf b) { return hn::Add(a, b); }
  static vf mul(vf a, vf b) { return hn::Mul(a, b); }
  static vf fma(vf a, vf b, vf c) { return hn::MulAdd(a, b, c); }
  static vf fence(vf v) {
    // Only targets with FMA instructions can contract; their registers are
    // native vectors an empty asm can pin.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
    __asm__("" : "+v"(v.raw));
#elif HWY_TARGET == HWY_AVX2
    __asm__("" : "+x"(v.raw));
#elif HWY_TARGET == HWY_NEON
    __asm__("" : "+w"(v.raw));
#endif
    return v;
  }
  static float sum(vf v) { return hn::GetLane(hn::SumOfLanes(DF(), v)); }

  static vi seti(std::uint32_t v) { return hn::Set(DU(), v); }
  static vi load_i(const std::uint32_t* p) { return hn::LoadU(DU(), p); }
  static void store_i(vi v, std::uint32_t* p) { hn::StoreU(v, DU(), p); }
  static vi load_u8(const std::uint8_t* p) { return hn::PromoteTo(DU(), hn::LoadU(DQ(), p)); }
  static vi load_u16(const std::uint16_t* p) { return hn::PromoteTo(DU(), hn::LoadU(DH(), p)); }
  static vi band(vi a, vi b) { return hn::And(a, b); }
  static vi bor(vi a, vi b) { return hn::Or(a, b); }
  template <int K>
  static vi shl(vi a) {
    return hn::ShiftLeft<K>(a);
  }
  template <int K>
  static vi shr(vi a) {
    return hn::ShiftRight<K>(a);
  }
  static vi shrv(vi a, vi c) { return hn::Shr(a, c); }
  static vi addi(vi a, vi b) { return hn::Add(a, b); }
  /// AVX3_DL: one vpdpbusd, as inline asm: Highway 1.0.3's AVX3_DL attribute string lacks
  /// avx512vnni (its run-time check for AVX3_DL requires VNNI), so the intrinsic would not
  /// compile there, and a second target attribute is not merged by clang.
  /// Other x86: pmaddubsw + pmaddwd, exact for MaxA <= 63 (int16 pair sums cannot
  /// saturate); larger codes go through their nibbles (a.b = lo.b + 16 hi.b).
  /// Elsewhere: four widening multiplies in int32.
  template <int MaxA>
  static vi dot_u8s8(vi acc, vi a, vi b) {
#if HWY_TARGET == HWY_AVX3_DL
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc.raw) : "v"(a.raw), "v"(b.raw));
    return acc;
#elif HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4
    if constexpr (MaxA > 63) {
      const vi m = seti(0x0f0f0f0fu);
      return addi(dot_u8s8<15>(acc, band(a, m), b), shl<4>(dot_u8s8<15>(seti(0), band(shr<4>(a), m), b)));
    } else {
#if HWY_TARGET == HWY_AVX3
      return vi{_mm512_add_epi32(
          acc.raw, _mm512_madd_epi16(_mm512_maddubs_epi16(a.raw, b.raw), _mm512_set1_epi16(1)))};
#elif HWY_TARGET == HWY_AVX2
      return vi{_mm256_add_epi32(
          acc.raw, _mm256_madd_epi16(_mm256_maddubs_epi16(a.raw, b.raw), _mm256_set1_epi16(1)))};
#else
      return vi{_mm_add_epi32(acc.raw, _mm_madd_epi16(_mm_maddubs_epi16(a.raw, b.raw), _mm_set1_epi16(1)))};
#endif
    }
#else
    const auto bs = hn::BitCast(DI(), b);
    auto s = hn::BitCast(DI(), acc);
    s = hn::Add(s,
                hn::Mul(hn::BitCast(DI(), band(a, seti(0xff))), hn::ShiftRight<24>(hn::ShiftLeft<24>(bs))));
    s = hn::Add(s, hn::Mul(hn::BitCast(DI(), band(shr<8>(a), seti(0xff))),
                           hn::ShiftRight<24>(hn::ShiftLeft<16>(bs))));
    s = hn::Add(s, hn::Mul(hn::BitCast(DI(), band(shr<16>(a), seti(0xff))),
                           hn::ShiftRight<24>(hn::ShiftLeft<8>(bs))));
    s = hn::Add(s, hn::Mul(hn::BitCast(DI(), shr<24>(a)), hn::ShiftRight<24>(bs)));
    return hn::BitCast(DU(), s);
#endif
  }
#if HWY_TARGET == HWY_AVX3_DL
  /// Optional op (see scalar_ops.hpp). vpermb gives code octet q's Bits bytes to qword q,
  /// vpmultishiftqb moves octet code i (bit i * Bits of the qword) to byte i, and one
  /// and keeps its bits: 3 instructions per 64 codes, where the window decoder merges four
  /// decoded chunks with shifts (3-bit int8 qmv was compute-bound at 12 GB/s that way).
  template <int Bits>
  static vi unpack_bytes(const std::uint8_t* p) {
    static_assert(Bits == 3 || Bits == 5 || Bits == 6);
    static constexpr auto control = [] {
      std::array<std::uint8_t, 128> c{};  // [0, 64): vpermb indices, [64, 128): bit offsets
      for (int q = 0; q < 8; ++q)
        for (int i = 0; i < 8; ++i) {
          c[static_cast<std::size_t>(8 * q + i)] = static_cast<std::uint8_t>(q * Bits + (i < Bits ? i : 0));
          c[static_cast<std::size_t>(64 + 8 * q + i)] = static_cast<std::uint8_t>(i * Bits);
        }
      return c;
    }();
    const __m512i raw = _mm512_maskz_loadu_epi8(~std::uint64_t{0} >> (64 - 8 * Bits), p);
    const __m512i octets = _mm512_permutexvar_epi8(_mm512_loadu_si512(control.data()), raw);
    const __m512i codes = _mm512_multishift_epi64_epi8(_mm512_loadu_si512(control.data() + 64), octets);
    return vi{_mm512_and_si512(codes, _mm512_set1_epi8(static_cast<char>((1 << Bits) - 1)))};
  }
#endif
#if HWY_TARGET == HWY_AVX3_DL
  /// Optional op (see scalar_ops.hpp): vpermb (AVX-512 VBMI), one 64-byte table per
  /// instruction, bits 6-7 of each index ignored.
  static vi lookup_bytes64(vi table, vi idx) { return vi{_mm512_permutexvar_epi8(idx.raw, table.raw)}; }
#endif
  static vf to_f32(vi v) { return hn::ConvertTo(DF(), hn::BitCast(DI(), v)); }
  static vf as_f32(vi v) { return hn::BitCast(DF(), v); }
  static vi as_u32(vf v) { return hn::BitCast(DU(), v); }

  static vb load_dup16(const std::uint8_t* p) { return hn::LoadDup128(DB(), p); }
  static vidx load_idx(const std::uint8_t* idx) { return hn::LoadU(DB(), idx); }
  static vidx as_idx(vi v) { return hn::BitCast(DB(), v); }
  static vi lookup_bytes(vb t, vidx idx) { return hn::BitCast(DU(), hn::TableLookupBytesOr0(t, idx)); }

  // 16-entry tables: one vpermps on 16-lane vectors, two plus a blend on 8
  // lanes, a gather otherwise.
  struct table16 {
    vf t[N >= 16 ? 1 : (N == 8 ? 2 : 1)];
    const float* p;
  };
  static table16 load_table16(const float* t) {
    table16 r;
    if constexpr (N >= 16)
      r.t[0] = hn::LoadU(DF(), t);
    else if constexpr (N == 8)
      r.t[0] = hn::LoadU(DF(), t), r.t[1] = hn::LoadU(DF(), t + 8);
    r.p = t;
    return r;
  }
  static vf lookup16(const table16& t, vi idx) {
    if constexpr (N >= 16) {
      return hn::TableLookupLanes(t.t[0], hn::IndicesFromVec(DF(), hn::BitCast(DI(), idx)));
    } else if constexpr (N == 8) {
      const auto lo = hn::IndicesFromVec(DF(), hn::BitCast(DI(), band(idx, seti(7))));
      const auto hi = hn::RebindMask(DF(), hn::Ne(band(idx, seti(8)), seti(0)));
      return hn::IfThenElse(hi, hn::TableLookupLanes(t.t[1], lo), hn::TableLookupLanes(t.t[0], lo));
    } else {
      return hn::GatherIndex(DF(), t.p, hn::BitCast(DI(), idx));
    }
  }

  static vf load_f16(const f16* p) {
    if constexpr (hw_f16) {
      return hn::PromoteTo(
          DF(), hn::LoadU(hn::Rebind<hwy::float16_t, DF>(), reinterpret_cast<const hwy::float16_t*>(p)));
    } else {
      HWY_ALIGN float t[N];
      for (std::size_t i = 0; i < N; ++i) t[i] = to_float(p[i]);
      return hn::Load(DF(), t);
    }
  }
  static vf load_bf16(const bf16* p) {
    return as_f32(shl<16>(load_u16(reinterpret_cast<const std::uint16_t*>(p))));
  }
  static void store_f16(vf v, f16* p) {
    if constexpr (hw_f16) {
      hn::StoreU(hn::DemoteTo(hn::Rebind<hwy::float16_t, DF>(), v), hn::Rebind<hwy::float16_t, DF>(),
                 reinterpret_cast<hwy::float16_t*>(p));
    } else {
      HWY_ALIGN float t[N];
      hn::Store(v, DF(), t);
      for (std::size_t i = 0; i < N; ++i) p[i] = f16(t[i]);
    }
  }
  /// float -> bf16 bits (RNE; NaN stays a quiet NaN), in the low half of each lane.
  static vi bf16_bits(vf v) {
    const vi x = as_u32(v);
    const vi odd = band(shr<16>(x), seti(1));
    const vi rounded = shr<16>(hn::Add(x, hn::Add(seti(0x7fffu), odd)));
    const auto is_nan = hn::Gt(hn::BitCast(DI(), band(x, seti(0x7fffffffu))), hn::Set(DI(), 0x7f800000));
    return hn::IfThenElse(hn::RebindMask(DU(), is_nan), bor(shr<16>(x), seti(0x40u)), rounded);
  }
  static void store_bf16(vf v, bf16* p) {
    hn::StoreU(hn::DemoteTo(DH(), hn::BitCast(DI(), bf16_bits(v))), DH(),
               reinterpret_cast<std::uint16_t*>(p));
  }
  static vf round_f16(vf v) {
    if constexpr (hw_f16) {
      return hn::PromoteTo(DF(), hn::DemoteTo(hn::Rebind<hwy::float16_t, DF>(), v));
    } else {
      HWY_ALIGN float t[N];
      hn::Store(v, DF(), t);
      for (std::size_t i = 0; i < N; ++i) t[i] = to_float(f16(t[i]));
      return hn::Load(DF(), t);
    }
  }
  static vf round_bf16(vf v) { return as_f32(shl<16>(bf16_bits(v))); }
};
#endif
