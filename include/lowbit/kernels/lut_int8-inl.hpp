// The opt-in int8 LUT mat-vec (numerics::int8; 2- and 4-bit indices, and 3-bit on
// AVX3_DL): each table is quantized to int8, Lq = round(L / ls) with ls = max|L| / 127
// (per table, per call), and each activation row per block of 32 to int8 as in
// the affine int8 mode (int8-inl.hpp). An index becomes its table byte with one
// in-lane byte shuffle (pshufb: 64 per instruction on AVX-512) and meets x in
// an integer dot product (vpdpbusd): 8 instructions per 128 weights of a
// 4-bit row against ~28 for the float table lookups and FMAs of lut-inl.hpp. 3-bit
// codes need AVX3_DL's unpacked byte codes (unpack_bytes). 5/6-bit tables (vpermb holds
// 64 entries) were measured too: 1.8x the float path L3-resident, no faster from DRAM
// (bench/README.md, session 8), with an int8 step near a 6-bit palette's own spacing: left out.
// vpdpbusd multiplies unsigned by signed bytes, so the table is stored biased,
// Lq + 128, and the bias comes back out as 128 * sum(xq * dx) per activation
// row. Error bound: core/numerics.hpp.
// No include guard: included inside a backend namespace after int8-inl.hpp.

template <class Ops, int Bits, plan Plan>
struct lut_int8_kernel {
  using Codes = byte_codes<Ops, Bits, Plan>;
  using Src = typename int8_kernel<Ops, Bits, Plan>::from_packed;
  using vf = typename Ops::vf;
  using vi = typename Ops::vi;
  using vb = typename Ops::vb;
  static constexpr int P = Codes::P;
  static constexpr std::size_t N = Ops::N, R = 4, span = Codes::span, words = span / 4;
  static constexpr std::size_t block = 32;  // activations per int8 scale (ggml's q8_0 block)
  /// AVX3_DL: the quantized table repeated to 64 bytes and looked up with vpermb, which
  /// ignores each index's bits 6-7: after the part's shift a byte holds its code in the
  /// low Bits bits and, up to bit 5, other codes that pick the same entry in every
  /// repetition, so the 2/4-bit parts need no mask (4-bit: 6 instructions per 128
  /// weights, not 8).
  static constexpr bool permute64 = requires(vi v) { Ops::lookup_bytes64(v, v); };
  static constexpr std::size_t entries = std::size_t{1} << Bits;
  /// Lanes whose codes share one activation block, and a 16-entry table.
  static constexpr bool usable = Codes::lanes_in_order && block % (span / N) == 0 && entries <= 16;
  using table = std::conditional_t<permute64, vi, vb>;
  static constexpr std::size_t table_words = permute64 ? 16 : 4;

  static bool supports(std::size_t cols) noexcept { return usable && cols % span == 0 && cols % block == 0; }

  /// q = Lq + 128 of the table t (`entries` floats), 16 bytes (64 for permute64, the
  /// table repeated); returns ls.
  static float quantize_table(const float* t, std::uint32_t* words) {
    float amax = 0.0f;
    for (std::size_t i = 0; i < entries; ++i) amax = std::max(amax, std::fabs(t[i]));
    const float inv = int8_scale_inverse(amax);
    auto* q = reinterpret_cast<std::uint8_t*>(words);
    for (std::size_t i = 0; i < 4 * table_words; ++i)
      q[i] = static_cast<std::uint8_t>(static_cast<int>(std::nearbyint(t[i % entries] * inv)) + 128);
    return amax / 127.0f;
  }
  static table load_table(const std::uint32_t* words) {
    if constexpr (permute64)
      return Ops::load_i(words);
    else
      return Ops::load_dup16(reinterpret_cast<const std::uint8_t*>(words));
  }
  static vi lookup(const table& t, vi codes) {
    if constexpr (permute64)
      return Ops::lookup_bytes64(t, codes);
    else
      return Ops::lookup_bytes(t, Ops::as_idx(codes));
  }

  /// permute64's codes: each part only shifted into place.
  struct unmasked_codes {
    const std::uint8_t* const* rows;
    std::size_t row_bytes;
    void operator()(int r, std::size_t s, vi* c) const {
      const std::uint8_t* p = rows[r] + s * Codes::bytes;
      prefetch_tiles(p, row_bytes);
      c[0] = Codes::load(p);
      if constexpr (P >= 2) c[1] = Codes::template shifted<1>(c[0]);
      if constexpr (P == 4) c[2] = Codes::template shifted<2>(c[0]), c[3] = Codes::template shifted<3>(c[0]);
    }
  };

  /// Activation row t: per span, each lane's dx (one vector per span, shared by every
  /// weight row) into dxl; returns 128 * sum_k xq_k * dx_k, the tables' bias.
  static float lane_scales(const int8_activations& a, std::size_t t, std::size_t cols, float* dxl) {
    const std::size_t blocks = cols / block;
    const float* dx = a.dx + t * blocks;
    const auto* xq = reinterpret_cast<const std::int8_t*>(a.xq + t * (cols / 4));
    float bias = 0.0f;
    for (std::size_t s = 0; s < cols / span; ++s)
      for (int p = 0; p < P; ++p)
        for (std::size_t l = 0; l < N; ++l) {
          const std::size_t e = s * span + Codes::element(p, l, 0),
                            word = s * words + static_cast<std::size_t>(p) * N + l;
          if (p == 0) dxl[s * N + l] = dx[e / block];
          const std::int8_t* b = xq + 4 * word;
          bias += dx[e / block] * static_cast<float>(b[0] + b[1] + b[2] + b[3]);
        }
    return 128.0f * bias;
  }

  /// y[t][r] (R rows, or 1) = ls(r) * row_scale(r) * (sum_s to_f32(codes . xq over s) * dxl[s] - bias).
  template <int RR, class S>
  static void rows(const lut_job& j, const S& src, const table* tab, const float* ls, const std::uint32_t* xq,
                   const float* dxl, float bias, std::size_t t, const std::size_t* rws) {
    vf facc[RR];
    LOWBIT_UNROLL
    for (int r = 0; r < RR; ++r) facc[r] = Ops::zero();
    for (std::size_t s = 0; s < j.cols / span; ++s) {
      vi xv[P];
      LOWBIT_UNROLL
      for (int p = 0; p < P; ++p) xv[p] = Ops::load_i(xq + s * words + static_cast<std::size_t>(p) * N);
      const vf dv = Ops::load(dxl + s * N);
      LOWBIT_UNROLL
      for (int r = 0; r < RR; ++r) {
        vi c[P];
        src(r, s, c);
        vi iacc = Ops::seti(0);
        LOWBIT_UNROLL
        for (int p = 0; p < P; ++p) iacc = Ops::template dot_u8s8<255>(iacc, lookup(tab[r], c[p]), xv[p]);
        facc[r] = Ops::fma(Ops::to_f32(iacc), dv, facc[r]);
      }
    }
    LOWBIT_UNROLL
    for (int r = 0; r < RR; ++r) {
      const std::size_t row = rws[r];
      float v = ls[r] * (Ops::sum(facc[r]) - bias);
      if (j.row_scale != nullptr) v *= j.row_scale[row];
      j.y[(t - j.t0) * j.y_stride + row] = v;
    }
  }

  static void matmul(const lut_job& j) {
    if constexpr (usable) run(j);
  }

  static void run(const lut_job& j) {
    const std::size_t cols = j.cols, row_bytes = cols * Bits / 8, spans = cols / span;
    int8_activations a;
    a.prepare<Codes>(j.x, j.m, j.x_stride, cols, block);
    float* dxl = scratch<float>(6, j.m * spans * N);
    float* bias = scratch<float>(7, j.m);
    for (std::size_t t = 0; t < j.m; ++t) bias[t] = lane_scales(a, t, cols, dxl + t * spans * N);
    for_lut_route_rows(j, 16, [&](const lut_job& v, std::size_t b, std::size_t e) {
      const Codes codes;
      if (b == e) return;
      // This task's tables, quantized once: groups g0 .. of its rows.
      const std::size_t g0 = b / j.group_rows, groups = (e - 1) / j.group_rows - g0 + 1;
      std::uint32_t* tq = scratch<std::uint32_t>(1, table_words * groups);
      float* tls = scratch<float>(2, groups);
      for (std::size_t g = 0; g < groups; ++g)
        tls[g] = quantize_table(v.tables + (g0 + g) * 16, tq + table_words * g);
      row_tiles<R>(b, e).for_each([&](const std::size_t* rws, std::size_t n) {
        const std::uint8_t* rp[R];
        table tab[R];
        float ls[R];
        for (std::size_t i = 0; i < n; ++i) {
          const std::size_t g = rws[i] / j.group_rows - g0;
          rp[i] = v.indices + rws[i] * row_bytes;
          tab[i] = load_table(tq + table_words * g);
          ls[i] = tls[g];
        }
        const auto src = [&] {
          if constexpr (permute64 && Codes::direct)
            return unmasked_codes{rp, row_bytes};
          else
            return Src{codes, rp, row_bytes};
        }();
        for (std::size_t t = v.t0; t < v.t1; ++t) {
          const std::uint32_t* xq = a.xq + t * (cols / 4);
          const float* dx = dxl + t * spans * N;
          if (n == R) {
            rows<R>(v, src, tab, ls, xq, dx, bias[t], t, rws);
          } else {
            for (std::size_t i = 0; i < n; ++i) {
              const auto one = [&](int, std::size_t s, vi* c) { src(static_cast<int>(i), s, c); };
              rows<1>(v, one, tab + i, ls + i, xq, dx, bias[t], t, rws + i);
            }
          }
        }
      });
    });
  }
};
