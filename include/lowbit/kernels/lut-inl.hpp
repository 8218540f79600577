// LUT (palettized) kernels written once over the ops layer: every index is
// decoded in registers by the same chunk decoders as the MLX kernels (the
// index stream of a row is the same LSB-first stream) and becomes its weight
// with one 16-entry table lookup (Ops::lookup16: one vpermps on AVX-512).
// 5- and 6-bit tables are 2 or 4 such tables, indexed by the low 4 bits; the
// high bits h pick one with 0/1 weights (1-h, h; or the Lagrange basis of
// {0,1,2,3}), which are exact in float, so the weight is exact too. Bits 7-8
// go through the reference.
// No include guard: included inside a backend namespace after unpack-inl.hpp and
// lut_int8-inl.hpp (kernels/lut_cpu.hpp, kernels/highway_targets-inl.hpp).

// AVX-512 escape for 5- and 6-bit tables (Highway 1.0.3's TableLookupLanes
// reads one vector): vpermt2ps looks up 32 floats held in two registers with
// the low 5 bits of each code (bits above are ignored), so 32 entries are one
// instruction and 64 are two plus a blend on bit 5, against 2-4 lookups and
// the Lagrange weights of the portable path. Only the Highway pass's own
// 512-bit vectors take it; xsimd and the other targets keep the generic code.
#if defined(HWY_TARGET) && (HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL)
template <class V>
inline constexpr bool lut_permute2_vec = std::is_same_v<V, hwy::HWY_NAMESPACE::Vec512<float>>;
#else
template <class V>
inline constexpr bool lut_permute2_vec = false;
#endif
#if defined(HWY_TARGET) && HWY_TARGET == HWY_AVX3_DL
template <class V>
inline constexpr bool lut_words_vec = std::is_same_v<V, hwy::HWY_NAMESPACE::Vec512<float>>;

/// qmv with f16 tables (AVX-512 VBMI + BW; AVX3_DL): 32 codes per step in
/// 16-bit lanes. vpermb moves each code's two bytes into its word, vpsrlvw
/// aligns it, vpermt2w (vpermw at 5 bits) looks the f16 weight up in the
/// 64-entry table held in two registers (the code's bits above 6 are
/// ignored, so no mask), and two vcvtph2ps make the floats: 8 instructions
/// per 32 weights with the FMAs, against 9 per 16 on the float path.
template <int Bits>
struct lut_words {
  static_assert(Bits == 5 || Bits == 6);
  static constexpr std::size_t C = 32, bytes = C * Bits / 8;  // reads 32 bytes: needs the 16-byte pad
  __m512i sel, shift;
  lut_words() {
    alignas(64) std::uint8_t ib[64];
    alignas(64) std::uint16_t sh[32];
    for (unsigned i = 0; i < 32; ++i) {
      const unsigned bit = i * Bits;
      ib[2 * i] = static_cast<std::uint8_t>(bit / 8);
      ib[2 * i + 1] = static_cast<std::uint8_t>(bit / 8 + 1);
      sh[i] = static_cast<std::uint16_t>(bit % 8);
    }
    sel = _mm512_load_si512(ib);
    shift = _mm512_load_si512(sh);
  }
  __m512i codes(const std::uint8_t* p) const {
    const __m512i raw = _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_srlv_epi16(_mm512_permutexvar_epi8(sel, raw), shift);
  }
  struct table {
    __m512i lo, hi;  // entries 0-31, 32-63 as f16
  };
  static table load(const float* t) {
    __m256i h[4];
    LOWBIT_UNROLL
    for (int q = 0; q < (Bits == 6 ? 4 : 2); ++q)
      h[q] = _mm512_cvtps_ph(_mm512_loadu_ps(t + 16 * q), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    table r;
    r.lo = _mm512_inserti64x4(_mm512_castsi256_si512(h[0]), h[1], 1);
    r.hi = Bits == 6 ? _mm512_inserti64x4(_mm512_castsi256_si512(h[2]), h[3], 1) : r.lo;
    return r;
  }
  static __m512i lookup(const table& t, __m512i c) {
    if constexpr (Bits == 6)
      return _mm512_permutex2var_epi16(t.lo, c, t.hi);
    else
      return _mm512_permutexvar_epi16(c, t.lo);
  }

  /// y[t][r] for the R rows rws[] (rows share each x load).
  template <int R>
  static void rows(const lut_job& j, const lut_words& dec, const row_source& src, std::uint8_t* rowbuf,
                   std::size_t row_bytes, const std::size_t* rws, int tables) {
    const std::uint8_t* rp[R];
    table tab[R];
    LOWBIT_UNROLL
    for (int i = 0; i < R; ++i) {
      const std::size_t r = rws[i];
      rp[i] = src.get(r, rowbuf + static_cast<std::size_t>(i) * (row_bytes + 16));
      tab[i] = load(j.tables + (r / j.group_rows) * 16 * static_cast<std::size_t>(tables));
    }
    for (std::size_t t = j.t0; t < j.t1; ++t) {
      const float* x = j.x + t * j.x_stride;
      __m512 acc[R][2];
      LOWBIT_UNROLL
      for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
      for (std::size_t k = 0; k < j.cols / C; ++k) {
        const __m512 x0 = _mm512_loadu_ps(x + k * C), x1 = _mm512_loadu_ps(x + k * C + 16);
        LOWBIT_UNROLL
        for (int i = 0; i < R; ++i) {
          prefetch_tiles<false>(rp[i] + k * bytes, row_bytes);
          const __m512i w = lookup(tab[i], dec.codes(rp[i] + k * bytes));
          acc[i][0] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_castsi512_si256(w)), x0, acc[i][0]);
          acc[i][1] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(w, 1)), x1, acc[i][1]);
        }
      }
      LOWBIT_UNROLL
      for (int i = 0; i < R; ++i) {
        const std::size_t r = rws[i];
        float v = _mm512_reduce_add_ps(_mm512_add_ps(acc[i][0], acc[i][1]));
        if (j.row_scale != nullptr) v *= j.row_scale[r];
        j.y[(t - j.t0) * j.y_stride + r] = v;
      }
    }
  }

  static void matmul(const lut_job& j, int tables) {
    const std::size_t row_bytes = j.cols * Bits / 8;
    for_lut_route_rows(j, 16, [&](const lut_job& v, std::size_t begin, std::size_t end) {
      const row_source src{v.indices, row_bytes, v.rows * row_bytes, true};
      const lut_words dec;
      std::uint8_t* rowbuf = scratch<std::uint8_t>(1, 4 * (row_bytes + 16));
      row_tiles<4>(begin, end).for_each([&](const std::size_t* rws, std::size_t n) {
        if (n == 4) return rows<4>(v, dec, src, rowbuf, row_bytes, rws, tables);
        for (std::size_t i = 0; i < n; ++i) rows<1>(v, dec, src, rowbuf, row_bytes, rws + i, tables);
      });
    });
  }
};
#else
template <class V>
inline constexpr bool lut_words_vec = false;
#endif

template <class Ops, int Bits, plan Plan>
struct lut_kernel {
  using Dec = chunk_decoder<Ops, Bits, quant_mode::affine, Plan>;
  using vf = typename Ops::vf;
  using vi = typename Ops::vi;
  static constexpr int P = Dec::P;
  static constexpr std::size_t N = Ops::N;
  static constexpr int tables = Bits <= 4 ? 1 : 1 << (Bits - 4);  // 16-entry tables per LUT
  static_assert(Bits <= 6, "7- and 8-bit LUTs use the reference");

  struct lut16 {
    typename Ops::table16 t[tables];
  };
  static lut16 load_lut(const float* p) {
    lut16 l;
    for (int q = 0; q < tables; ++q) l.t[q] = Ops::load_table16(p + 16 * q);
    return l;
  }
  static vf weight(const lut16& l, vi c) {
    if constexpr (tables == 1) {
      return Ops::lookup16(l.t[0], c);
    } else if constexpr (lut_permute2_vec<vf>) {
#if defined(HWY_TARGET) && (HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL)
      const __m512 lo = _mm512_permutex2var_ps(l.t[0].t[0].raw, c.raw, l.t[1].t[0].raw);
      if constexpr (tables == 2) {
        return vf{lo};
      } else {
        const __m512 hi = _mm512_permutex2var_ps(l.t[2].t[0].raw, c.raw, l.t[3].t[0].raw);
        return vf{_mm512_mask_blend_ps(_mm512_test_epi32_mask(c.raw, _mm512_set1_epi32(32)), lo, hi)};
      }
#endif
    } else {
      const vi lo = Ops::band(c, Ops::seti(15));
      const vf h = Ops::to_f32(Ops::template shr<4>(c));
      const vf one = Ops::set(1.0f), m1 = Ops::set(-1.0f);
      if constexpr (tables == 2) {
        return Ops::fma(Ops::lookup16(l.t[1], lo), h,
                        Ops::mul(Ops::lookup16(l.t[0], lo), Ops::fma(h, m1, one)));
      } else {
        const vf a = Ops::fma(h, m1, one), b = Ops::fma(h, m1, Ops::set(2.0f)),
                 d = Ops::fma(h, m1, Ops::set(3.0f));
        const vf hm1 = Ops::add(h, m1), hm2 = Ops::add(h, Ops::set(-2.0f));
        const vf l0 = Ops::mul(Ops::mul(Ops::mul(a, b), d), Ops::set(1.0f / 6.0f));  // 6 * (1/6)f rounds to 1
        const vf l1 = Ops::mul(Ops::mul(Ops::mul(h, b), d), Ops::set(0.5f));
        const vf l2 = Ops::mul(Ops::mul(Ops::mul(h, hm1), d), Ops::set(0.5f));
        const vf l3 = Ops::mul(Ops::mul(Ops::mul(h, hm1), hm2), Ops::set(1.0f / 6.0f));
        vf w = Ops::mul(Ops::lookup16(l.t[0], lo), l0);
        w = Ops::fma(Ops::lookup16(l.t[1], lo), l1, w);
        w = Ops::fma(Ops::lookup16(l.t[2], lo), l2, w);
        return Ops::fma(Ops::lookup16(l.t[3], lo), l3, w);
      }
    }
  }

  /// y[t][r] = sum_k table(r)[idx(r, k)] * x[t][k] (* row_scale[r]).
  static void matmul(const lut_job& j) {
    if constexpr (lut_words_vec<vf> && (Bits == 5 || Bits == 6)) {
#if defined(HWY_TARGET) && HWY_TARGET == HWY_AVX3_DL
      if (j.f16_tables && j.cols % lut_words<Bits>::C == 0) return lut_words<Bits>::matmul(j, tables);
#endif
    }
    const std::size_t row_bytes = j.cols * Bits / 8, chunks = j.cols / Dec::C;
    float* xp = scratch<float>(0, j.cols * j.m);
    for (std::size_t t = 0; t < j.m; ++t)
      prepare_x<Dec>(j.x + t * j.x_stride, j.cols, xp + t * j.cols, false);
    for_lut_route_rows(j, 16, [&](const lut_job& v, std::size_t begin, std::size_t end) {
      const row_source src{v.indices, row_bytes, v.rows * row_bytes, Dec::needs_pad};
      const Dec dec;
      std::uint8_t* rowbuf = scratch<std::uint8_t>(1, 4 * (row_bytes + 16));
      row_tiles<4>(begin, end).for_each([&](const std::size_t* rws, std::size_t n) {
        if (n == 4) return rows<4>(v, dec, src, rowbuf, row_bytes, chunks, xp, rws);
        for (std::size_t i = 0; i < n; ++i) rows<1>(v, dec, src, rowbuf, row_bytes, chunks, xp, rws + i);
      });
    });
  }

  /// R rows together: each x vector is loaded once per R rows, and the R*P
  /// accumulators are independent FMA chains.
  template <int R>
  static void rows(const lut_job& j, const Dec& dec, const row_source& src, std::uint8_t* rowbuf,
                   std::size_t row_bytes, std::size_t chunks, const float* xp, const std::size_t* rws) {
    const std::uint8_t* rp[R];
    lut16 tab[R];
    LOWBIT_UNROLL
    for (int i = 0; i < R; ++i) {
      const std::size_t r = rws[i];
      rp[i] = src.get(r, rowbuf + static_cast<std::size_t>(i) * (row_bytes + 16));
      tab[i] = load_lut(j.tables + (r / j.group_rows) * 16 * tables);
    }
    for (std::size_t t = j.t0; t < j.t1; ++t) {
      const float* x = xp + t * j.cols;
      vf acc[R][P];
      LOWBIT_UNROLL
      for (int i = 0; i < R; ++i) LOWBIT_UNROLL
      for (int p = 0; p < P; ++p) acc[i][p] = Ops::zero();
      for (std::size_t k = 0; k < chunks; ++k) {
        vf xv[P];
        LOWBIT_UNROLL
        for (int p = 0; p < P; ++p) xv[p] = Ops::load(x + (k * P + static_cast<std::size_t>(p)) * N);
        LOWBIT_UNROLL
        for (int i = 0; i < R; ++i) {
          vi cd[P];
          if (k % Dec::chunks_per_line == 0) prefetch_tiles<false>(rp[i] + k * Dec::bytes, row_bytes);
          dec.codes(rp[i] + k * Dec::bytes, cd);
          LOWBIT_UNROLL
          for (int p = 0; p < P; ++p) acc[i][p] = Ops::fma(weight(tab[i], cd[p]), xv[p], acc[i][p]);
        }
      }
      LOWBIT_UNROLL
      for (int i = 0; i < R; ++i) {
        vf sum = acc[i][0];
        LOWBIT_UNROLL
        for (int p = 1; p < P; ++p) sum = Ops::add(sum, acc[i][p]);
        const std::size_t r = rws[i];
        float v = Ops::sum(sum);
        if (j.row_scale != nullptr) v *= j.row_scale[r];
        j.y[(t - j.t0) * j.y_stride + r] = v;
      }
    }
  }

  /// out = table(r)[idx(r, k)] (* scale), rounded once to Out (element-order plans only).
  template <class Out>
  static void dequantize(const lut_job& j) {
    static_assert(Plan == plan::window || Plan == plan::byte, "dequantize walks chunks in element order");
    const std::size_t row_bytes = j.cols * Bits / 8, chunks = j.cols / Dec::C;
    const row_source src{j.indices, row_bytes, j.rows * row_bytes, Dec::needs_pad};
    const std::size_t c = j.ex.concurrency();
    const range_split split(j.rows, 32, c == 1 ? 1 : 4 * c);
    j.ex.parallel_for(split.tasks, [&](std::size_t task) {
      const row_output<Out> out(j.out, j.cols, j.stream);
      const Dec dec;
      std::uint8_t* rowbuf = scratch<std::uint8_t>(1, row_bytes + 16);
      for (std::size_t r = split.begin(task); r < split.end(task); ++r) {
        const std::uint8_t* row = src.get(r, rowbuf);
        const lut16 tab = load_lut(j.tables + (r / j.group_rows) * 16 * tables);
        const vf rs = Ops::set(j.row_scale != nullptr ? j.row_scale[r] : 1.0f);
        const float* cs = j.col_scale != nullptr ? j.col_scale + (r / j.expert_rows) * j.cols : nullptr;
        Out* o = out.row(r);
        for (std::size_t k = 0; k < chunks; ++k) {
          vi cd[P];
          dec.codes(row + k * Dec::bytes, cd);
          LOWBIT_UNROLL
          for (int p = 0; p < P; ++p) {
            const std::size_t at = k * Dec::C + static_cast<std::size_t>(p) * N;
            vf v = weight(tab, cd[p]);
            if (j.row_scale != nullptr) v = Ops::mul(v, rs);
            if (cs != nullptr) v = Ops::mul(v, Ops::load(cs + at));
            if constexpr (std::is_same_v<Out, f16>)
              Ops::store_f16(v, o + at);
            else if constexpr (std::is_same_v<Out, bf16>)
              Ops::store_bf16(v, o + at);
            else
              Ops::store(v, o + at);
          }
        }
        out.done(r);
      }
    });
  }
};

/// The (bits, plan) switch; returns false when the shape needs the reference
/// (bits > 4, or cols not a whole number of the decoder's chunks).
template <class Ops>
struct lut_kernels_for {
  template <int Bits, plan Plan>
  static bool fits(std::size_t cols) {
    using Dec = chunk_decoder<Ops, Bits, quant_mode::affine, Plan>;
    return cols % Dec::C == 0 && (cols * Bits) % 8 == 0;
  }

  template <int Bits, plan Plan>
  static bool int8_fits(const lut_job& j) {
    return j.int8 && lut_int8_kernel<Ops, Bits, Plan>::supports(j.cols);
  }

  template <int Bits>
  static bool matmul_bits(const lut_job& j) {
    if constexpr (Bits == 4) {
      if (int8_fits<4, plan::nib>(j)) return lut_int8_kernel<Ops, 4, plan::nib>::matmul(j), true;
    } else if constexpr (Bits == 2) {
      if (int8_fits<2, plan::quad>(j)) return lut_int8_kernel<Ops, 2, plan::quad>::matmul(j), true;
    } else if constexpr (Bits == 3) {  // AVX3_DL's unpacked codes (lut_int8_kernel::usable)
      if (int8_fits<Bits, plan::window>(j)) return lut_int8_kernel<Ops, Bits, plan::window>::matmul(j), true;
    }
    if constexpr (Bits == 4) {
      if (fits<4, plan::nib>(j.cols)) return lut_kernel<Ops, 4, plan::nib>::matmul(j), true;
    } else if constexpr (Bits == 2) {
      if (fits<2, plan::quad>(j.cols)) return lut_kernel<Ops, 2, plan::quad>::matmul(j), true;
    }
    if (!fits<Bits, plan::window>(j.cols)) return false;
    lut_kernel<Ops, Bits, plan::window>::matmul(j);
    return true;
  }

  static bool matmul(const lut_job& j) {
    switch (j.bits) {
      case 1:
        return matmul_bits<1>(j);
      case 2:
        return matmul_bits<2>(j);
      case 3:
        return matmul_bits<3>(j);
      case 4:
        return matmul_bits<4>(j);
      case 5:
        return matmul_bits<5>(j);
      case 6:
        return matmul_bits<6>(j);
      default:
        return false;
    }
  }

  template <int Bits>
  static bool dequant_bits(const lut_job& j) {
    if (!fits<Bits, plan::window>(j.cols)) return false;
    switch (j.out_kind) {
      case elem_kind::f32:
        lut_kernel<Ops, Bits, plan::window>::template dequantize<float>(j);
        break;
      case elem_kind::f16:
        lut_kernel<Ops, Bits, plan::window>::template dequantize<f16>(j);
        break;
      case elem_kind::bf16:
        lut_kernel<Ops, Bits, plan::window>::template dequantize<bf16>(j);
        break;
    }
    return true;
  }

  static bool dequantize(const lut_job& j) {
    switch (j.bits) {
      case 1:
        return dequant_bits<1>(j);
      case 2:
        return dequant_bits<2>(j);
      case 3:
        return dequant_bits<3>(j);
      case 4:
        return dequant_bits<4>(j);
      case 5:
        return dequant_bits<5>(j);
      case 6:
        return dequant_bits<6>(j);
      default:
        return false;
    }
  }
};
