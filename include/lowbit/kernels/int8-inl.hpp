// The opt-in int8-activation matmul (numerics::int8, affine formats): each
// activation row is quantized per weight group to int8 (dx = max|x| / 127,
// round to nearest), and codes x activations become integer dot products
// (dot_u8s8: one vpdpbusd per 4N weights on AVX-512 VNNI), as ggml's q8
// paths do. Per group: y += (scale * dx) * idot; the bias enters as
// bias * sum(x) with the float x (MLX's fold), so only the x rounding and the
// unrounded weights (q*s + b instead of MLX's f16/bf16-rounded ones) differ
// from the exact mode; the bound is documented in core/numerics.hpp.
// This file: the codes as byte lanes, the int8 activations, and the kernel
// for a few activation rows (qmv, gather), which decodes codes where it uses
// them, 4 weight rows per register tile; more activation rows go through the
// row-interleaved panel of int8_qmm-inl.hpp.
// No include guard (see unpack-inl.hpp).

/// The codes of one span of a row as byte-lane vectors: lane l, byte j of part
/// p holds the code of element element(p, l, j) of the span.
///  nib/quad/byte: 4N packed bytes = one vector; part p = bits [p*Bits, p*Bits+Bits) of
///    every byte (element 8/Bits * byte + p), so a lane's bytes are 4*P consecutive elements.
///  unpacked (3/5/6-bit where Ops has unpack_bytes, i.e. AVX-512 VBMI): 4N codes in stream
///    order, one part: 3 instructions per 64 codes.
///  window (3/5/6-bit otherwise): four decoder chunks, chunk j in byte j of every lane.
template <class Ops, int Bits, plan Plan>
struct byte_codes {
  using Dec = chunk_decoder<Ops, Bits, quant_mode::affine, Plan>;
  using vi = typename Ops::vi;
  static constexpr std::size_t N = Ops::N;
  static constexpr bool direct = Plan != plan::window;
  static constexpr bool unpacked = !direct && requires(const std::uint8_t* p) {
    Ops::template unpack_bytes<Bits>(p);
  };
  /// A lane's codes are consecutive elements, so no lane straddles a group.
  static constexpr bool lanes_in_order = direct || unpacked;
  static constexpr bool needs_pad = !lanes_in_order && Dec::needs_pad;
  static constexpr int P = direct ? 8 / Bits : unpacked ? 1 : Dec::P;
  static constexpr std::size_t span = direct     ? 4 * N * static_cast<std::size_t>(P)
                                      : unpacked ? 4 * N
                                                 : 4 * Dec::C;
  static constexpr std::size_t bytes = span * Bits / 8;
  static constexpr int max_code = (1 << Bits) - 1;

  [[no_unique_address]] std::conditional_t<lanes_in_order, char, Dec> dec{};

  static constexpr std::size_t element(int p, std::size_t l, std::size_t j) noexcept {
    if constexpr (direct)
      return (4 * l + j) * static_cast<std::size_t>(P) + static_cast<std::size_t>(p);
    else if constexpr (unpacked)
      return 4 * l + j;
    else
      return j * Dec::C + Dec::element(p, l);
  }

  /// direct: the span's 4N bytes as one vector, and part Part shifted into each byte's low
  /// bits with the other parts' bits still above it (part() masks them off).
  static vi load(const std::uint8_t* src) {
    alignas(64) std::uint32_t w[N];
    std::memcpy(w, src, 4 * N);
    return Ops::load_i(w);
  }
  template <int Part>
  static vi shifted(vi v) {
    if constexpr (Part == 0)
      return v;
    else
      return Ops::template shr<Part * Bits>(v);
  }
  template <int Part>
  static vi part(vi v) {
    constexpr std::uint32_t m = 0x01010101u * static_cast<std::uint32_t>(max_code);
    if constexpr (Bits == 8)
      return v;
    else
      return Ops::band(shifted<Part>(v), Ops::seti(m));
  }

  void operator()(const std::uint8_t* src, vi* out) const {
    if constexpr (direct) {
      const vi v = load(src);
      out[0] = part<0>(v);
      if constexpr (P >= 2) out[1] = part<1>(v);
      if constexpr (P == 4) out[2] = part<2>(v), out[3] = part<3>(v);
    } else if constexpr (unpacked) {
      out[0] = Ops::template unpack_bytes<Bits>(src);
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

/// 127 / amax, the int8 quantization's inverse step; 0 below 2^-100, where it would
/// overflow to inf (and 0 * inf is NaN): such groups quantize to 0.
inline float int8_scale_inverse(float amax) noexcept { return amax >= 0x1p-100f ? 127.0f / amax : 0.0f; }

/// x rows quantized per group, bytes in the span order of Codes: per span, part-major
/// (word p*N + l holds part p, lane l: a vector of x per part) or, LaneMajor, word
/// l*P + p (int8_qmm's quads). Per-thread scratch: a call must not page-fault or zero
/// fresh buffers.
struct int8_activations {
  std::uint32_t* xq = nullptr;  // [m][cols / 4]: the int8 bytes, 4 per word
  float* dx = nullptr;          // [m][groups]
  float* xsum = nullptr;        // [m][groups]

  template <class Codes, bool LaneMajor = false>
  void prepare(const float* x, std::size_t m, std::size_t x_stride, std::size_t cols, std::size_t gs) {
    const std::size_t gpr = cols / gs;
    xq = scratch<std::uint32_t>(4, m * cols / 4);
    dx = scratch<float>(4, 2 * m * gpr);
    xsum = dx + m * gpr;
    auto* q = reinterpret_cast<std::int8_t*>(scratch<std::uint32_t>(5, cols / 4));
    for (std::size_t t = 0; t < m; ++t) {
      const float* xr = x + t * x_stride;
      for (std::size_t g = 0; g < gpr; ++g) {
        // Four partial maxima and sums (groups are multiples of 4): one serial addss/maxss
        // chain took ~45 % of a small call (perf, 16 x 4096 b4: this function 87 %).
        float amax[4] = {}, s[4] = {};
        for (std::size_t k = g * gs; k < (g + 1) * gs; k += 4)
          for (std::size_t i = 0; i < 4; ++i)
            amax[i] = std::max(amax[i], std::fabs(xr[k + i])), s[i] += xr[k + i];
        const float a = std::max(std::max(amax[0], amax[1]), std::max(amax[2], amax[3]));
        const float inv = int8_scale_inverse(a);
        // min/max (minss/maxss; std::clamp compiled to branches, std::fmin to libm calls),
        // argument order mapping a NaN input to -127, not to an undefined conversion.
        for (std::size_t k = g * gs; k < (g + 1) * gs; ++k)
          q[k] = static_cast<std::int8_t>(std::min(127.0f, std::max(-127.0f, std::nearbyint(xr[k] * inv))));
        dx[t * gpr + g] = a / 127.0f;
        xsum[t * gpr + g] = (s[0] + s[1]) + (s[2] + s[3]);
      }
      auto* out = reinterpret_cast<std::uint8_t*>(xq + t * cols / 4);
      for (std::size_t s0 = 0; s0 < cols; s0 += Codes::span, out += Codes::span)
        for (int p = 0; p < Codes::P; ++p)
          for (std::size_t l = 0; l < Codes::N; ++l) {
            const std::size_t word = LaneMajor ? l * Codes::P + static_cast<std::size_t>(p)
                                               : static_cast<std::size_t>(p) * Codes::N + l;
            for (std::size_t j = 0; j < 4; ++j)
              out[4 * word + j] = static_cast<std::uint8_t>(q[s0 + Codes::element(p, l, j)]);
          }
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
  static constexpr std::size_t R = 4;             // weight rows per register tile

  /// False: a lane would mix two groups (window plans with a span longer than a group),
  /// or a span longer than a group does not divide the row; the caller runs the exact kernel.
  static bool supports(std::size_t gs, std::size_t cols) noexcept {
    return span <= gs || (Codes::lanes_in_order && cols % span == 0);
  }

  /// Codes of weight rows decoded where they are used, each load prefetching one tile on
  /// and, where it paid, several (prefetch_tiles: row_tiles' next tile is the next row in
  /// memory). 1 thread, 14336 x 4096, rows aligned / 16 bytes off, interleaved pairs, GB/s
  /// with -> without the L2 prefetch: 3-bit 16.8-18.2 -> 15.9-23.2, 5-bit 16.0-22.6 ->
  /// 24.5-28.4, 6-bit 19.7-23.8 -> 24.5-29.7, 8-bit 20.4-24.1 -> 22.4-25.6; 2-bit (16 bytes
  /// off) 18.6-19.6 -> 17.1-17.4 and 4-bit (prefetch_tiles) keep it.
  static constexpr bool l2_prefetch = !Codes::unpacked && Bits != 8;
  struct from_packed {
    const Codes& codes;
    const std::uint8_t* const* rows;
    std::size_t row_bytes;
    void operator()(int r, std::size_t s, vi* v) const {
      const std::uint8_t* p = rows[r] + s * Codes::bytes;
      prefetch_tiles<l2_prefetch>(p, row_bytes);
      codes(p, v);
    }
  };

  /// y[r] = sum over the row's groups of cs[r][g] * (codes . xq over g) (the bias is
  /// added by the caller). Spans no longer than a group accumulate in int32 over the
  /// whole group; longer spans (several groups each) scale per span with a per-lane
  /// lookup of cs.
  template <int RR, class Src>
  static void rows(const Src& src, const std::uint32_t* xq, std::size_t cols, std::size_t gs,
                   const float* const* cs, const vi& lane_group, float* y) {
    vf facc[RR];
    LOWBIT_UNROLL
    for (int r = 0; r < RR; ++r) facc[r] = Ops::zero();
    const std::size_t spans = cols / span;
    const auto accumulate = [&](std::size_t s, vi* iacc) {
      vi xv[P];
      LOWBIT_UNROLL
      for (int p = 0; p < P; ++p) xv[p] = Ops::load_i(xq + s * words + static_cast<std::size_t>(p) * N);
      LOWBIT_UNROLL
      for (int r = 0; r < RR; ++r) {
        vi c[P];
        src(r, s, c);
        LOWBIT_UNROLL
        for (int p = 0; p < P; ++p) iacc[r] = Ops::template dot_u8s8<Codes::max_code>(iacc[r], c[p], xv[p]);
      }
    };
    vi iacc[RR];
    if (span <= gs) {
      const std::size_t spg = gs / span;
      for (std::size_t s0 = 0, g = 0; s0 < spans; s0 += spg, ++g) {
        LOWBIT_UNROLL
        for (int r = 0; r < RR; ++r) iacc[r] = Ops::seti(0);
        for (std::size_t s = s0; s < s0 + spg; ++s) accumulate(s, iacc);
        LOWBIT_UNROLL
        for (int r = 0; r < RR; ++r) facc[r] = Ops::fma(Ops::to_f32(iacc[r]), Ops::set(cs[r][g]), facc[r]);
      }
    } else {
      const std::size_t gps = span / gs;
      for (std::size_t s = 0; s < spans; ++s) {
        LOWBIT_UNROLL
        for (int r = 0; r < RR; ++r) iacc[r] = Ops::seti(0);
        accumulate(s, iacc);
        LOWBIT_UNROLL
        for (int r = 0; r < RR; ++r) {
          const vf lane_scale = Ops::lookup16(Ops::load_table16(cs[r] + s * gps), lane_group);
          facc[r] = Ops::fma(Ops::to_f32(iacc[r]), lane_scale, facc[r]);
        }
      }
    }
    LOWBIT_UNROLL
    for (int r = 0; r < RR; ++r) y[r] = Ops::sum(facc[r]);
  }

  /// One weight row's per-group work in one pass over its scales and biases as stored:
  /// cs[g] = scale[g] * dx[g]; returns sum_g bias[g] * xsum[g]. Converting them to float
  /// first, then scaling, then the bias dot (three passes) took ~40 % as many perf samples
  /// as the hot loop (L3-resident 4096 x 4096 b4).
  template <class S>
  static float row_params(const S* sp, const S* bp, const float* dx, const float* xsum, std::size_t gpr,
                          float* cs) {
    vf acc = Ops::zero();
    std::size_t g = 0;
    for (; g + N <= gpr; g += N) {
#if defined(__GNUC__)  // the next tile's (next row): perf had ~15 % of the samples on these loads, ~5 % after
      __builtin_prefetch(sp + g + gpr), __builtin_prefetch(bp + g + gpr);
#endif
      Ops::store(Ops::mul(load_as<Ops, S>(sp + g), Ops::load(dx + g)), cs + g);
      acc = Ops::fma(load_as<Ops, S>(bp + g), Ops::load(xsum + g), acc);
    }
    float b = Ops::sum(acc);
    for (; g < gpr; ++g) cs[g] = static_cast<float>(sp[g]) * dx[g], b += static_cast<float>(bp[g]) * xsum[g];
    return b;
  }
  static float row_params(const qjob& w, std::size_t row, const float* dx, const float* xsum, float* cs) {
    const std::size_t gpr = w.cols / static_cast<std::size_t>(w.format.group_size);
    return with_row_params(w, row,
                           [&](const auto* s, const auto* b) { return row_params(s, b, dx, xsum, gpr, cs); });
  }

  /// Activation row t against weight rows rws[0, n), n <= R.
  static void tile(const matmul_route& rt, const int8_activations& a, const from_packed& src, std::size_t t,
                   const std::size_t* rws, std::size_t n, float* cs, const vi& lane_group) {
    const std::size_t cols = rt.w.cols, gs = static_cast<std::size_t>(rt.w.format.group_size),
                      gpr = cols / gs;
    const std::uint32_t* xq = a.xq + t * (cols / 4);
    const float* csp[R] = {};
    float bias[R];
    for (std::size_t i = 0; i < n; ++i) {
      bias[i] = row_params(rt.w, rws[i], a.dx + t * gpr, a.xsum + t * gpr, cs + i * gpr);
      csp[i] = cs + i * gpr;
    }
    float yr[R];
    if (n == R) {
      rows<R>(src, xq, cols, gs, csp, lane_group, yr);
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        const auto one = [&](int, std::size_t s, vi* v) { src(static_cast<int>(i), s, v); };
        rows<1>(one, xq, cols, gs, csp + i, lane_group, yr + i);
      }
    }
    for (std::size_t i = 0; i < n; ++i) rt.y_row(t)[rws[i]] = yr[i] + bias[i];
  }

  static void run(const matmul_job& job) {
    const qjob& w = job.w;
    const std::size_t gs = static_cast<std::size_t>(w.format.group_size);
    const std::size_t gpr = w.cols / gs, cols = w.cols;
    const std::size_t row_bytes = cols * Bits / 8;
    int8_activations a;
    a.prepare<Codes>(job.x, job.m, job.x_stride, cols, gs);
    alignas(64) std::uint32_t lg[N];
    for (std::size_t l = 0; l < N; ++l)
      lg[l] = static_cast<std::uint32_t>(Codes::element(0, l, 0) / gs);  // lane's group within a span
    const vi lane_group = Ops::load_i(lg);
    for_route_rows(job, [&](const matmul_route& rt, std::size_t begin, std::size_t end) {
      const Codes codes;
      const row_source rsrc{reinterpret_cast<const std::uint8_t*>(rt.w.packed), row_bytes, w.rows * row_bytes,
                            Codes::needs_pad};
      float* cs = scratch<float>(1, R * gpr + 16);  // scale * dx, 16 floats of slack for load_table16
      std::uint8_t* rowbuf = scratch<std::uint8_t>(3, R * (row_bytes + 16));
      row_tiles<R>(begin, end).for_each([&](const std::size_t* rws, std::size_t n) {
        const std::uint8_t* rp[R];
        for (std::size_t i = 0; i < n; ++i) rp[i] = rsrc.get(rws[i], rowbuf + i * (row_bytes + 16));
        const from_packed src{codes, rp, row_bytes};
        for (std::size_t t = rt.t0; t < rt.t1; ++t) tile(rt, a, src, t, rws, n, cs, lane_group);
      });
    });
  }
};
