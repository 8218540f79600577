// qmm: y[m][rows] = x[m][cols] W^T for m >= a few rows, written once over the
// ops layer. Compute-bound, so it is a blocked float GEMM that vectorizes over
// ACTIVATION rows: x is transposed once per call (cheap: m*cols) into blocks of
// MT activation rows, xT[t / MT][k][t % MT], so a micro-kernel reads one
// contiguous stream (a k stride of m floats put every k in the same few L1 sets),
// and a task owning NB weight rows dequantizes, per K block of KC columns, its
// W tile once into a row-major float panel (exact: the reference's weights;
// no transposition needed). The micro-kernel is a T x (RV*N) register tile:
// per k it broadcasts T weights and loads RV vectors of N activations,
// T*RV FMAs (BLIS-style outer product; 6x4 zmm on AVX-512). Results
// accumulate in a transposed tile yT[row][t] and are written out once.
// No include guard (see unpack-inl.hpp).

template <class Ops, int Bits, quant_mode Mode, plan Plan>
struct qmm_kernel {
  // The panel is written in element order: window/byte chunks (Plan is the
  // qmv plan and only says the format fits; the panel decoder picks its own).
  static constexpr plan PanelPlan = Bits == 8 ? plan::byte : plan::window;
  using Dec = chunk_decoder<Ops, Bits, Mode, PanelPlan>;
  using vf = typename Ops::vf;
  static constexpr int P = Dec::P;
  static constexpr std::size_t N = Ops::N;
  static constexpr bool affine = Mode == quant_mode::affine;
  // 32 vector registers (AVX-512): 6x4 accumulators; 16 (AVX2, SSE, NEON): 4x2.
  static constexpr int T = N >= 16 ? 6 : 4;
  static constexpr int RV = N >= 16 ? 4 : (N == 1 ? 4 : 2);
  static constexpr std::size_t MT = static_cast<std::size_t>(RV) * N;  // activation rows per micro-kernel
  static constexpr std::size_t NB = static_cast<std::size_t>(T) * 16;  // weight rows per task
  // Columns per panel: a micro-kernel pass streams KC * MT floats of xT, which must stay in
  // L1 (48 KiB on Zen 5 and Ice Lake): KC = 256 (64 KiB at MT = 64) ran 79-89 GFLOP/s against
  // 98-104 for 128 (m = 64, 1 thread, 4096^2, Ice Lake Xeon, 2 alternated runs; 2 threads
  // 164-169 -> 172-184; m = 512 82-116 -> 100-106 and 152-215 -> 215-227).
  static constexpr std::size_t KC = 128;

  /// yT[r][0..MT) += sum_k wp[r][k] * xT[k][0..MT) for r < T.
  static void micro(const float* wp, const float* xT, std::size_t ldx, std::size_t kc, float* yT,
                    std::size_t ldy) {
    vf acc[T][RV];
    LOWBIT_UNROLL
    for (int r = 0; r < T; ++r) LOWBIT_UNROLL
    for (int v = 0; v < RV; ++v) acc[r][v] = Ops::zero();
    for (std::size_t k = 0; k < kc; ++k) {
      vf xv[RV];
      LOWBIT_UNROLL
      for (int v = 0; v < RV; ++v) xv[v] = Ops::load(xT + k * ldx + static_cast<std::size_t>(v) * N);
      LOWBIT_UNROLL
      for (int r = 0; r < T; ++r) {
        const vf wb = Ops::set(wp[static_cast<std::size_t>(r) * KC + k]);
        LOWBIT_UNROLL
        for (int v = 0; v < RV; ++v) acc[r][v] = Ops::fma(wb, xv[v], acc[r][v]);
      }
    }
    LOWBIT_UNROLL
    for (int r = 0; r < T; ++r) LOWBIT_UNROLL
    for (int v = 0; v < RV; ++v) {
      float* p = yT + static_cast<std::size_t>(r) * ldy + static_cast<std::size_t>(v) * N;
      Ops::store(Ops::add(Ops::load(p), acc[r][v]), p);
    }
  }

  /// wp[i][k] = W[r0 + i][kb + k] for k < kc, i < n (rows n.. stay zero). Each row's next
  /// block is prefetched: a block is a few lines of each of NB rows 1 row apart, too short
  /// a run for the hardware prefetcher (perf: ~20 % of the cycles waited on these loads).
  static void panel(const Dec& dec, const row_source& src, std::uint8_t* rowbuf, std::size_t r0,
                    std::size_t n, std::size_t kb, std::size_t kc, std::size_t gs, const float* sc,
                    const float* bi, std::size_t gpr, elem_kind rs, float* wp) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t* row = src.get(r0 + i, rowbuf);
#if defined(__GNUC__)
      for (std::size_t b = 0; b < KC * Bits / 8; b += 64) __builtin_prefetch(row + (kb + KC) * Bits / 8 + b);
#endif
      float* out = wp + i * KC;
      for (std::size_t k = 0; k < kc; k += Dec::C) {
        const std::size_t col = kb + k, g = col / gs;
        vf q[P];
        dec(row + col / Dec::C * Dec::bytes, q);
        const vf s = Ops::set(sc[i * gpr + g]);
        LOWBIT_UNROLL
        for (int p = 0; p < P; ++p) {
          vf v = Ops::mul(q[p], s);
          if constexpr (affine) {  // the reference's weights: two ops rounded to the scales dtype
            const vf b = Ops::set(bi[i * gpr + g]);
            if (rs == elem_kind::f16)
              v = Ops::round_f16(Ops::add(Ops::round_f16(v), b));
            else if (rs == elem_kind::bf16)
              v = Ops::round_bf16(Ops::add(Ops::round_bf16(v), b));
            else
              v = Ops::add(v, b);
          }
          Ops::store(v, out + k + static_cast<std::size_t>(p) * N);
        }
      }
    }
  }

  static void run(const matmul_job& job) {
    const qjob& w = job.w;
    const std::size_t gs = static_cast<std::size_t>(w.format.group_size);
    const std::size_t gpr = w.cols / gs;
    const std::size_t row_bytes = w.cols * Bits / 8;
    const row_source src{reinterpret_cast<const std::uint8_t*>(w.packed), row_bytes, w.rows * row_bytes,
                         Dec::needs_pad};
    const std::size_t m_pad = (job.m + MT - 1) / MT * MT, cols = w.cols;
    float* xT = scratch<float>(6, cols * m_pad);  // the calling thread's: tasks use slots 0-3
    for (std::size_t t = 0; t < m_pad; ++t) {
      float* o = xT + t / MT * cols * MT + t % MT;
      if (t < job.m)
        for (std::size_t k = 0; k < cols; ++k) o[k * MT] = job.x[t * job.x_stride + k];
      else
        for (std::size_t k = 0; k < cols; ++k) o[k * MT] = 0.0f;
    }
    const std::size_t blocks = (w.rows + NB - 1) / NB;
    job.ex.parallel_for(blocks, [&](std::size_t blk) {
      const Dec dec;
      const std::size_t r0 = blk * NB, n = std::min(NB, w.rows - r0);
      float* sc = scratch<float>(0, 2 * NB * gpr);
      float* bi = sc + NB * gpr;
      for (std::size_t i = 0; i < n; ++i) group_params<Ops>(w, r0 + i, sc + i * gpr, bi + i * gpr);
      float* wp = scratch<float>(1, KC * NB);
      float* yT = scratch<float>(2, NB * m_pad);
      std::fill(wp, wp + KC * NB, 0.0f);
      std::fill(yT, yT + NB * m_pad, 0.0f);
      std::uint8_t* rowbuf = scratch<std::uint8_t>(3, row_bytes + 16);
      const std::size_t n_pad = (n + T - 1) / T * T;
      for (std::size_t kb = 0; kb < w.cols; kb += KC) {
        const std::size_t kc = std::min(KC, w.cols - kb);
        panel(dec, src, rowbuf, r0, n, kb, kc, gs, sc, bi, gpr, w.scales_elem, wp);
        for (std::size_t t0 = 0; t0 < m_pad; t0 += MT)
          for (std::size_t r = 0; r < n_pad; r += T)
            micro(wp + r * KC, xT + t0 * cols + kb * MT, MT, kc, yT + r * m_pad + t0, m_pad);
      }
      for (std::size_t t = 0; t < job.m; ++t)
        for (std::size_t i = 0; i < n; ++i) job.y[t * job.y_stride + r0 + i] = yT[i * m_pad + t];
    });
  }
};
