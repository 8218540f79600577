// The opt-in int8-activation matmul (numerics::int8, affine formats): each
// activation row is quantized per weight group to int8 (dx = max|x| / 127,
// round to nearest), and codes x activations become integer dot products
// (dot_u8s8: one vpdpbusd per 4N weights on AVX-512 VNNI), as ggml's q8
// paths do. Per group: y += (scale * dx) * idot; the bias enters as
// bias * sum(x) with the float x (MLX's fold), so only the x rounding and the
// unrounded weights (q*s + b instead of MLX's f16/bf16-rounded ones) differ
// from the exact mode; the bound is documented in core/numerics.hpp.
// One activation row (qmv, gather): codes are decoded where they are used, 4
// weight rows per register tile. Several: each task decodes its 4 rows once
// into a byte panel (one code per byte, in the order the x bytes are prepared
// in) and runs 4 x 2 (weight x activation rows) tiles over it.
// No include guard (see unpack-inl.hpp).

/// The codes of one span of a row as byte-lane vectors: lane l, byte j of part
/// p holds the code of element element(p, l, j) of the span.
///  nib/quad/byte: 4N packed bytes = one vector; part p = bits [p*Bits, p*Bits+Bits) of
///    every byte (element 8/Bits * byte + p), so a lane's bytes are 4*P consecutive elements.
///  window (3/5/6-bit): four decoder chunks, chunk j in byte j of every lane.
template <class Ops, int Bits, plan Plan>
struct byte_codes {
  using Dec = chunk_decoder<Ops, Bits, quant_mode::affine, Plan>;
  using vi = typename Ops::vi;
  static constexpr std::size_t N = Ops::N;
  static constexpr bool direct = Plan != plan::window;
  static constexpr int P = direct ? 8 / Bits : Dec::P;
  static constexpr std::size_t span = direct ? 4 * N * static_cast<std::size_t>(P) : 4 * Dec::C;
  static constexpr std::size_t bytes = span * Bits / 8;
  static constexpr int max_code = (1 << Bits) - 1;

  [[no_unique_address]] std::conditional_t<direct, char, Dec> dec{};

  static constexpr std::size_t element(int p, std::size_t l, std::size_t j) noexcept {
    if constexpr (direct)
      return (4 * l + j) * static_cast<std::size_t>(P) + static_cast<std::size_t>(p);
    else
      return j * Dec::C + Dec::element(p, l);
  }

  template <int Part>
  static vi part(vi v) {
    constexpr std::uint32_t m = 0x01010101u * static_cast<std::uint32_t>(max_code);
    if constexpr (Bits == 8)
      return v;
    else if constexpr (Part == 0)
      return Ops::band(v, Ops::seti(m));
    else
      return Ops::band(Ops::template shr<Part * Bits>(v), Ops::seti(m));
  }

  void operator()(const std::uint8_t* src, vi* out) const {
    if constexpr (direct) {
      alignas(64) std::uint32_t w[N];
      std::memcpy(w, src, 4 * N);
      const vi v = Ops::load_i(w);
      out[0] = part<0>(v);
      if constexpr (P >= 2) out[1] = part<1>(v);
      if constexpr (P == 4) out[2] = part<2>(v), out[3] = part<3>(v);
    } else {
      typename Ops::vi c[4][P];
      LOWBIT_UNROLL
      for (int j = 0; j < 4; ++j) dec.codes(src + static_cast<std::size_t>(j) * Dec::bytes, c[j]);
      LOWBIT_UNROLL
      for (int p = 0; p < P; ++p)
        out[p] = Ops::bor(Ops::bor(c[0][p], Ops::template shl<8>(c[1][p])),
                          Ops::bor(Ops::template shl<16>(c[2][p]), Ops::template shl<24>(c[3][p])));
    }
  }
};

/// x rows quantized per group, bytes in the span order of Codes (per-thread
/// scratch: a call must not page-fault or zero fresh buffers).
struct int8_activations {
  std::uint32_t* xq = nullptr;  // [m][cols / 4]: the int8 bytes, 4 per word
  float* dx = nullptr;          // [m][groups]
  float* xsum = nullptr;        // [m][groups]

  template <class Codes>
  void prepare(const float* x, std::size_t m, std::size_t x_stride, std::size_t cols, std::size_t gs) {
    const std::size_t gpr = cols / gs;
    xq = scratch<std::uint32_t>(4, m * cols / 4);
    dx = scratch<float>(4, 2 * m * gpr);
    xsum = dx + m * gpr;
    auto* q = reinterpret_cast<std::int8_t*>(scratch<std::uint32_t>(5, cols / 4));
    for (std::size_t t = 0; t < m; ++t) {
      const float* xr = x + t * x_stride;
      for (std::size_t g = 0; g < gpr; ++g) {
        float amax = 0.0f, s = 0.0f;
        for (std::size_t k = g * gs; k < (g + 1) * gs; ++k)
          amax = std::max(amax, std::fabs(xr[k])), s += xr[k];
        const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        for (std::size_t k = g * gs; k < (g + 1) * gs; ++k)
          q[k] = static_cast<std::int8_t>(std::clamp(std::nearbyint(xr[k] * inv), -127.0f, 127.0f));
        dx[t * gpr + g] = amax / 127.0f;
        xsum[t * gpr + g] = s;
      }
      auto* out = reinterpret_cast<std::uint8_t*>(xq + t * cols / 4);
      for (std::size_t s0 = 0; s0 < cols; s0 += Codes::span)
        for (int p = 0; p < Codes::P; ++p)
          for (std::size_t l = 0; l < Codes::N; ++l)
            for (std::size_t j = 0; j < 4; ++j)
              *out++ = static_cast<std::uint8_t>(q[s0 + Codes::element(p, l, j)]);
    }
  }
};

template <class Ops, int Bits, plan Plan>
struct int8_kernel {
  using Codes = byte_codes<Ops, Bits, Plan>;
  using vf = typename Ops::vf;
  using vi = typename Ops::vi;
  static constexpr int P = Codes::P;
  static constexpr std::size_t N = Ops::N;
  static constexpr std::size_t span = Codes::span;
  static constexpr std::size_t words = span / 4;  // 32-bit words per span (all parts)
  static constexpr int R = 4;                     // weight rows per register tile
  /// From this many activation rows on, a task decodes its rows once into a byte
  /// panel and reuses it; below, codes are decoded where they are used (no round trip).
  static constexpr std::size_t panel_min_m = 2;
  static constexpr std::size_t prefetch_bytes = 1024;

  /// False: a lane would mix two groups (window plans with a span longer than a group),
  /// or a span longer than a group does not divide the row; the caller runs the exact kernel.
  static bool supports(std::size_t gs, std::size_t cols) noexcept {
    return span <= gs || (Codes::direct && cols % span == 0);
  }

  /// Where rows' codes come from: packed (decoded on the fly) or a decoded panel.
  struct from_packed {
    const Codes& codes;
    const std::uint8_t* const* rows;
    void operator()(int r, std::size_t s, vi* v) const {
      const std::uint8_t* p = rows[r] + s * Codes::bytes;
#if defined(__GNUC__)
      __builtin_prefetch(p + prefetch_bytes);
#endif
      codes(p, v);
    }
  };
  struct from_panel {
    const std::uint32_t* const* rows;
    void operator()(int r, std::size_t s, vi* v) const {
      LOWBIT_UNROLL
      for (int p = 0; p < P; ++p) v[p] = Ops::load_i(rows[r] + s * words + static_cast<std::size_t>(p) * N);
    }
  };

  /// Activation rows per register tile: codes loaded once serve TT rows of x
  /// (32 vector registers hold 2 x 4 int32 and 2 x 4 float accumulators; 16 do not).
  static constexpr int TT = N >= 16 ? 2 : 1;

  /// y[t*RR + r] = sum over the row's groups of cs[t*RR + r][g] * (codes . xq[t] over g)
  /// (the bias is added by the caller). Spans no longer than a group accumulate in int32
  /// over the whole group; longer spans (several groups each) scale per span with a
  /// per-lane lookup of cs.
  template <int RR, int T, class Src>
  static void rows(const Src& src, const std::uint32_t* const* xq, std::size_t cols, std::size_t gs,
                   const float* const* cs, const vi& lane_group, float* y) {
    vf facc[T][RR];
    LOWBIT_UNROLL
    for (int t = 0; t < T; ++t) LOWBIT_UNROLL
    for (int r = 0; r < RR; ++r) facc[t][r] = Ops::zero();
    const std::size_t spans = cols / span;
    const auto accumulate = [&](std::size_t s, vi(*iacc)[RR]) {
      vi xv[T][P];
      LOWBIT_UNROLL
      for (int t = 0; t < T; ++t) LOWBIT_UNROLL
      for (int p = 0; p < P; ++p) xv[t][p] = Ops::load_i(xq[t] + s * words + static_cast<std::size_t>(p) * N);
      LOWBIT_UNROLL
      for (int r = 0; r < RR; ++r) {
        vi c[P];
        src(r, s, c);
        LOWBIT_UNROLL
        for (int t = 0; t < T; ++t) LOWBIT_UNROLL
        for (int p = 0; p < P; ++p)
          iacc[t][r] = Ops::template dot_u8s8<Codes::max_code>(iacc[t][r], c[p], xv[t][p]);
      }
    };
    vi iacc[T][RR];
    if (span <= gs) {
      const std::size_t spg = gs / span;
      for (std::size_t s0 = 0, g = 0; s0 < spans; s0 += spg, ++g) {
        LOWBIT_UNROLL
        for (int t = 0; t < T; ++t) LOWBIT_UNROLL
        for (int r = 0; r < RR; ++r) iacc[t][r] = Ops::seti(0);
        for (std::size_t s = s0; s < s0 + spg; ++s) accumulate(s, iacc);
        LOWBIT_UNROLL
        for (int t = 0; t < T; ++t) LOWBIT_UNROLL
        for (int r = 0; r < RR; ++r)
          facc[t][r] = Ops::fma(Ops::to_f32(iacc[t][r]), Ops::set(cs[t * RR + r][g]), facc[t][r]);
      }
    } else {
      const std::size_t gps = span / gs;
      for (std::size_t s = 0; s < spans; ++s) {
        LOWBIT_UNROLL
        for (int t = 0; t < T; ++t) LOWBIT_UNROLL
        for (int r = 0; r < RR; ++r) iacc[t][r] = Ops::seti(0);
        accumulate(s, iacc);
        LOWBIT_UNROLL
        for (int t = 0; t < T; ++t) LOWBIT_UNROLL
        for (int r = 0; r < RR; ++r) {
          const vf lane_scale = Ops::lookup16(Ops::load_table16(cs[t * RR + r] + s * gps), lane_group);
          facc[t][r] = Ops::fma(Ops::to_f32(iacc[t][r]), lane_scale, facc[t][r]);
        }
      }
    }
    LOWBIT_UNROLL
    for (int t = 0; t < T; ++t) LOWBIT_UNROLL
    for (int r = 0; r < RR; ++r) y[t * RR + r] = Ops::sum(facc[t][r]);
  }

  /// out[i] = a[i] * b[i].
  static void mul(const float* a, const float* b, std::size_t n, float* out) {
    std::size_t i = 0;
    for (; i + N <= n; i += N) Ops::store(Ops::mul(Ops::load(a + i), Ops::load(b + i)), out + i);
    for (; i < n; ++i) out[i] = a[i] * b[i];
  }

  /// n (<= R) weight rows x T activation rows; y[t * R + i].
  template <int T, class Src>
  static void rows_any(std::size_t n, const Src& src, const std::uint32_t* const* xq, std::size_t cols,
                       std::size_t gs, const float* const* cs, const vi& lane_group, float* y) {
    if (n == R) return rows<R, T>(src, xq, cols, gs, cs, lane_group, y);
    for (std::size_t i = 0; i < n; ++i) {
      const auto one = [&](int, std::size_t s, vi* v) { src(static_cast<int>(i), s, v); };
      const float* csi[T];
      float yi[T];
      for (int t = 0; t < T; ++t) csi[t] = cs[static_cast<std::size_t>(t) * R + i];
      rows<1, T>(one, xq, cols, gs, csi, lane_group, yi);
      for (int t = 0; t < T; ++t) y[static_cast<std::size_t>(t) * R + i] = yi[t];
    }
  }

  /// Activation rows [t0, t0 + T) against weight rows [r0, r0 + n).
  template <int T, class Src>
  static void tile(const matmul_job& job, const int8_activations& a, const Src& src, std::size_t t0,
                   std::size_t r0, std::size_t n, const float* sc, const float* bi, float* cs,
                   const vi& lane_group) {
    const std::size_t cols = job.w.cols, gs = static_cast<std::size_t>(job.w.format.group_size),
                      gpr = cols / gs;
    const std::uint32_t* xq[T];
    const float* csp[T * R] = {};
    for (int t = 0; t < T; ++t) {
      const std::size_t tt = t0 + static_cast<std::size_t>(t);
      xq[t] = a.xq + tt * (cols / 4);
      for (std::size_t i = 0; i < n; ++i) {
        float* c = cs + (static_cast<std::size_t>(t) * R + i) * gpr;
        mul(sc + i * gpr, a.dx + tt * gpr, gpr, c);
        csp[static_cast<std::size_t>(t) * R + i] = c;
      }
    }
    float yr[T * R];
    rows_any<T>(n, src, xq, cols, gs, csp, lane_group, yr);
    for (int t = 0; t < T; ++t) {
      const std::size_t tt = t0 + static_cast<std::size_t>(t);
      for (std::size_t i = 0; i < n; ++i)
        job.y[tt * job.y_stride + r0 + i] =
            yr[static_cast<std::size_t>(t) * R + i] + dot_f32<Ops>(bi + i * gpr, a.xsum + tt * gpr, gpr);
    }
  }

  static void run(const matmul_job& job) {
    const qjob& w = job.w;
    const std::size_t gs = static_cast<std::size_t>(w.format.group_size);
    const std::size_t gpr = w.cols / gs, cols = w.cols, m = job.m;
    const std::size_t row_bytes = cols * Bits / 8, row_words = cols / 4;
    int8_activations a;
    a.prepare<Codes>(job.x, m, job.x_stride, cols, gs);
    alignas(64) std::uint32_t lg[N];
    for (std::size_t l = 0; l < N; ++l)
      lg[l] = static_cast<std::uint32_t>(Codes::element(0, l, 0) / gs);  // lane's group within a span
    const vi lane_group = Ops::load_i(lg);
    const bool pad = !Codes::direct && Codes::Dec::needs_pad;
    const row_source rsrc{reinterpret_cast<const std::uint8_t*>(w.packed), row_bytes, w.rows * row_bytes,
                          pad};
    const bool use_panel = m >= panel_min_m;
    const std::size_t c = job.ex.concurrency();
    const range_split split(w.rows, 16, c == 1 ? 1 : 4 * c);
    job.ex.parallel_for(split.tasks, [&](std::size_t task) {
      const Codes codes;
      float* sc = scratch<float>(0, 2 * R * gpr);
      float* bi = sc + R * gpr;
      float* cs = scratch<float>(1, TT * R * gpr + 16);  // scale * dx, 16 floats of slack for load_table16
      std::uint32_t* panel = scratch<std::uint32_t>(2, use_panel ? R * row_words : 0);
      std::uint8_t* rowbuf = scratch<std::uint8_t>(3, R * (row_bytes + 16));
      for (std::size_t r0 = split.begin(task); r0 < split.end(task); r0 += R) {
        const std::size_t n = std::min<std::size_t>(R, split.end(task) - r0);
        const std::uint8_t* rp[R];
        const std::uint32_t* cp[R];
        for (std::size_t i = 0; i < n; ++i) {
          group_params<Ops>(w, r0 + i, sc + i * gpr, bi + i * gpr);
          rp[i] = rsrc.get(r0 + i, rowbuf + i * (row_bytes + 16));
          if (!use_panel) continue;
          std::uint32_t* pr = panel + i * row_words;
          for (std::size_t s = 0; s < cols / span; ++s) {
            vi v[P];
            codes(rp[i] + s * Codes::bytes, v);
            LOWBIT_UNROLL
            for (int p = 0; p < P; ++p) Ops::store_i(v[p], pr + s * words + static_cast<std::size_t>(p) * N);
          }
          cp[i] = pr;
        }
        std::size_t t = 0;
        if (use_panel) {
          const from_panel src{cp};
          for (; t + TT <= m; t += TT) tile<TT>(job, a, src, t, r0, n, sc, bi, cs, lane_group);
          for (; t < m; ++t) tile<1>(job, a, src, t, r0, n, sc, bi, cs, lane_group);
        } else {
          const from_packed src{codes, rp};
          for (; t < m; ++t) tile<1>(job, a, src, t, r0, n, sc, bi, cs, lane_group);
        }
      }
    });
  }
};
