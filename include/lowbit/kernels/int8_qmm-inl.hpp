// The opt-in int8-activation qmm (numerics::int8, several activation rows):
// the numerics of int8-inl.hpp (x quantized per group, codes x int8 through
// dot_u8s8, y += (scale * dx) * idot + bias * sum(x)) with ggml's repacked
// layout built per task: a slab of RB*N weight rows is transposed into a
// panel where one vector holds 4 consecutive codes ("a quad") of N rows, so
// the accumulator lanes are weight rows. One dot_u8s8 is then 4 codes x N
// rows against one broadcast int8 quad of x, and the per-group scale work is
// one FMA per N outputs instead of a lookup + FMA per vector of codes, with
// no horizontal sums. The panel is built once per slab and reused by every
// activation row. No include guard (see unpack-inl.hpp).

template <class Ops, int Bits, plan Plan>
struct int8_qmm_kernel {
  using Codes = byte_codes<Ops, Bits, Plan>;
  using vf = typename Ops::vf;
  using vi = typename Ops::vi;
  static constexpr std::size_t N = Ops::N;
  static constexpr int P = Codes::P;
  static constexpr int RB = N >= 16 ? 2 : 1;                           // vectors of N rows per slab
  static constexpr std::size_t SL = static_cast<std::size_t>(RB) * N;  // rows per slab
  static constexpr int TT = N >= 8 ? 4 : 2;                            // activation rows per register tile
  static constexpr std::size_t qps = N * static_cast<std::size_t>(P);  // quads per span

  /// Quad q = l * P + p of a span holds Codes' lane l of part p (4 codes): lane-major, so
  /// the quads of one group are consecutive (a lane's codes lie in one group).
  static constexpr std::size_t quad(int p, std::size_t l) noexcept {
    return l * P + static_cast<std::size_t>(p);
  }

  /// panel[q * SL + i] = quad q of slab row i; rows past n are zero. Per span, the slab's
  /// rows are decoded into `tmp` first so the panel is written in order.
  static void build_panel(const Codes& codes, const std::uint8_t* const* rp, std::size_t n, std::size_t cols,
                          std::uint32_t* tmp, std::uint32_t* panel) {
    for (std::size_t s = 0; s < cols / Codes::span; ++s) {
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* at = rp[i] + s * Codes::bytes;
#if defined(__GNUC__)
        __builtin_prefetch(at + 512);  // SL short row streams: the hardware prefetcher lags
#endif
        vi v[P];
        codes(at, v);
        LOWBIT_UNROLL
        for (int p = 0; p < P; ++p) Ops::store_i(v[p], tmp + (i * P + static_cast<std::size_t>(p)) * N);
      }
      std::uint32_t* out = panel + s * qps * SL;
      for (std::size_t l = 0; l < N; ++l) LOWBIT_UNROLL
      for (int p = 0; p < P; ++p) {
        std::uint32_t* o = out + quad(p, l) * SL;
        for (std::size_t i = 0; i < n; ++i) o[i] = tmp[(i * P + static_cast<std::size_t>(p)) * N + l];
        for (std::size_t i = n; i < SL; ++i) o[i] = 0;
      }
    }
  }

  /// y[t][i] for T activation rows and the slab's rows: sct/bit are the slab's scales and
  /// biases as [group][SL].
  template <int T>
  static void tile(const std::uint32_t* panel, const int8_activations& a, std::size_t t0, std::size_t cols,
                   std::size_t gs, const float* sct, const float* bit, float (*y)[SL]) {
    const std::size_t gpr = cols / gs, qpg = gs / 4, words = cols / 4;
    const std::uint32_t* xq[T];
    const float *dx[T], *xs[T];
    LOWBIT_UNROLL
    for (int t = 0; t < T; ++t) {
      const std::size_t tt = t0 + static_cast<std::size_t>(t);
      xq[t] = a.xq + tt * words;
      dx[t] = a.dx + tt * gpr;
      xs[t] = a.xsum + tt * gpr;
    }
    vf facc[T][RB];
    LOWBIT_UNROLL
    for (int t = 0; t < T; ++t) LOWBIT_UNROLL
    for (int b = 0; b < RB; ++b) facc[t][b] = Ops::zero();
    for (std::size_t g = 0; g < gpr; ++g) {
      vi iacc[T][RB];
      LOWBIT_UNROLL
      for (int t = 0; t < T; ++t) LOWBIT_UNROLL
      for (int b = 0; b < RB; ++b) iacc[t][b] = Ops::seti(0);
      for (std::size_t q = g * qpg; q < (g + 1) * qpg; ++q) {
        vi w[RB];
        LOWBIT_UNROLL
        for (int b = 0; b < RB; ++b) w[b] = Ops::load_i(panel + q * SL + static_cast<std::size_t>(b) * N);
        LOWBIT_UNROLL
        for (int t = 0; t < T; ++t) {
          const vi xb = Ops::seti(xq[t][q]);
          LOWBIT_UNROLL
          for (int b = 0; b < RB; ++b)
            iacc[t][b] = Ops::template dot_u8s8<Codes::max_code>(iacc[t][b], w[b], xb);
        }
      }
      LOWBIT_UNROLL
      for (int b = 0; b < RB; ++b) {
        const vf s = Ops::load(sct + g * SL + static_cast<std::size_t>(b) * N);
        const vf bi = Ops::load(bit + g * SL + static_cast<std::size_t>(b) * N);
        LOWBIT_UNROLL
        for (int t = 0; t < T; ++t) {
          facc[t][b] = Ops::fma(Ops::to_f32(iacc[t][b]), Ops::mul(s, Ops::set(dx[t][g])), facc[t][b]);
          facc[t][b] = Ops::fma(bi, Ops::set(xs[t][g]), facc[t][b]);
        }
      }
    }
    LOWBIT_UNROLL
    for (int t = 0; t < T; ++t) LOWBIT_UNROLL
    for (int b = 0; b < RB; ++b) Ops::store(facc[t][b], y[t] + static_cast<std::size_t>(b) * N);
  }

  static void run(const matmul_job& job) {
    const qjob& w = job.w;
    const std::size_t gs = static_cast<std::size_t>(w.format.group_size);
    const std::size_t gpr = w.cols / gs, cols = w.cols, m = job.m;
    const std::size_t row_bytes = cols * Bits / 8;
    int8_activations a;
    a.prepare<Codes, true>(job.x, m, job.x_stride, cols, gs);
    const row_source rsrc{reinterpret_cast<const std::uint8_t*>(w.packed), row_bytes, w.rows * row_bytes,
                          Codes::needs_pad};
    const std::size_t c = job.ex.concurrency();
    const range_split split(w.rows, SL, c == 1 ? 1 : 4 * c);
    job.ex.parallel_for(split.tasks, [&](std::size_t task) {
      const Codes codes;
      float* sct = scratch<float>(0, 2 * SL * gpr + 2 * gpr);  // [g][SL] scales, biases; one row's
      float* bit = sct + SL * gpr;
      float* sr = bit + SL * gpr;
      float* br = sr + gpr;
      std::uint32_t* panel = scratch<std::uint32_t>(2, SL * cols / 4);
      std::uint32_t* tmp = scratch<std::uint32_t>(1, SL * qps);
      std::uint8_t* rowbuf = scratch<std::uint8_t>(3, SL * (row_bytes + 16));
      for (std::size_t r0 = split.begin(task); r0 < split.end(task); r0 += SL) {
        const std::size_t n = std::min(SL, split.end(task) - r0);
        for (std::size_t i = 0; i < SL; ++i) {
          if (i < n) group_params<Ops>(w, r0 + i, sr, br);
          for (std::size_t g = 0; g < gpr; ++g)
            sct[g * SL + i] = i < n ? sr[g] : 0.0f, bit[g * SL + i] = i < n ? br[g] : 0.0f;
        }
        const std::uint8_t* rp[SL];  // row pointers once per slab (a padded copy at most once per row)
        for (std::size_t i = 0; i < n; ++i) rp[i] = rsrc.get(r0 + i, rowbuf + i * (row_bytes + 16));
        build_panel(codes, rp, n, cols, tmp, panel);
        alignas(64) float y[TT][SL];
        const auto emit = [&](std::size_t t0, std::size_t T) {
          for (std::size_t t = 0; t < T; ++t)
            std::memcpy(job.y + (t0 + t) * job.y_stride + r0, y[t], n * sizeof(float));
        };
        std::size_t t = 0;
        for (; t + TT <= m; t += TT) tile<TT>(panel, a, t, cols, gs, sct, bit, y), emit(t, TT);
        for (; t + 2 <= m; t += 2) tile<2>(panel, a, t, cols, gs, sct, bit, y), emit(t, 2);
        for (; t < m; ++t) tile<1>(panel, a, t, cols, gs, sct, bit, y), emit(t, 1);
      }
    });
  }
};
