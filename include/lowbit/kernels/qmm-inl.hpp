// qmm: y[m][rows] = x[m][cols] W^T for m >= a few rows, written once over the
// ops layer. Compute-bound, so it is a blocked float GEMM: a task owns NB
// output rows; per K block of KC columns it dequantizes its W tile once into
// a transposed float panel wT[k][row] (exact: scale*q + bias in float) and runs
// a T x (RV*N) register-tiled outer-product micro-kernel over every group of T
// activation rows: each k broadcasts T activations and loads RV weight vectors
// (BLIS-style). The panel (KC*NB floats) stays in L2; T activation rows in L1.
// No include guard (see unpack-inl.hpp).

template <class Ops, int Bits, quant_mode Mode, plan Plan>
struct qmm_kernel {
  using Dec = chunk_decoder<Ops, Bits, Mode, Plan>;
  using vf = typename Ops::vf;
  static constexpr int P = Dec::P;
  static constexpr std::size_t N = Ops::N;
  static constexpr bool affine = Mode == quant_mode::affine;
  // 32 vector registers (AVX-512): 6x4 accumulators; 16 (AVX2, SSE, NEON): 4x2.
  static constexpr int T = N >= 16 ? 6 : 4;
  static constexpr int RV = N >= 16 ? 4 : (N == 1 ? 4 : 2);
  static constexpr std::size_t NR = static_cast<std::size_t>(RV) * N;  // rows per micro-kernel
  static constexpr std::size_t NB = N >= 8 ? 128 : 64;                 // rows per task
  static constexpr std::size_t KC = 256;                               // columns per panel
  static_assert(NB % NR == 0);

  static void micro(const float* const* xr, const float* w, std::size_t kc, float* yb) {
    vf acc[T][RV];
    LOWBIT_UNROLL
    for (int t = 0; t < T; ++t) LOWBIT_UNROLL
    for (int v = 0; v < RV; ++v) acc[t][v] = Ops::zero();
    for (std::size_t k = 0; k < kc; ++k) {
      vf wv[RV];
      LOWBIT_UNROLL
      for (int v = 0; v < RV; ++v) wv[v] = Ops::load(w + k * NB + static_cast<std::size_t>(v) * N);
      LOWBIT_UNROLL
      for (int t = 0; t < T; ++t) {
        const vf xb = Ops::set(xr[t][k]);
        LOWBIT_UNROLL
        for (int v = 0; v < RV; ++v) acc[t][v] = Ops::fma(xb, wv[v], acc[t][v]);
      }
    }
    LOWBIT_UNROLL
    for (int t = 0; t < T; ++t) LOWBIT_UNROLL
    for (int v = 0; v < RV; ++v) {
      float* p = yb + static_cast<std::size_t>(t) * NB + static_cast<std::size_t>(v) * N;
      Ops::store(Ops::add(Ops::load(p), acc[t][v]), p);
    }
  }

  /// wT[k][i] = W[r0 + i][kb + k] for k < kc, i < n (rows past n stay zero).
  static void panel(const Dec& dec, const row_source& src, std::uint8_t* scratch, std::size_t r0,
                    std::size_t n, std::size_t kb, std::size_t kc, std::size_t gs, const float* sc,
                    const float* bi, std::size_t gpr, elem_kind rs, float* wT) {
    alignas(64) float lanes[N];
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t* row = src.get(r0 + i, scratch);
      for (std::size_t k = 0; k < kc; k += Dec::C) {
        const std::size_t col = kb + k, g = col / gs;
        vf q[P];
        dec(row + col / Dec::C * Dec::bytes, q);
        LOWBIT_UNROLL
        for (int p = 0; p < P; ++p) {
          const vf s = Ops::set(sc[i * gpr + g] * Dec::x_factor(p));
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
          Ops::store(v, lanes);
          for (std::size_t j = 0; j < N; ++j) wT[(k + Dec::element(p, j)) * NB + i] = lanes[j];
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
    const std::size_t blocks = (w.rows + NB - 1) / NB;
    const std::size_t m_pad = (job.m + T - 1) / T * T;
    job.ex.parallel_for(blocks, [&](std::size_t blk) {
      const Dec dec;
      const std::size_t r0 = blk * NB, n = std::min(NB, w.rows - r0);
      float* sc = scratch<float>(0, 2 * NB * gpr);
      float* bi = sc + NB * gpr;
      for (std::size_t i = 0; i < n; ++i) group_params<Ops>(w, r0 + i, sc + i * gpr, bi + i * gpr);
      float* wT = scratch<float>(1, KC * NB);
      float* yb = scratch<float>(2, m_pad * NB + KC);
      float* zeros = yb + m_pad * NB;
      std::fill(wT, wT + KC * NB, 0.0f);
      std::fill(yb, yb + m_pad * NB + KC, 0.0f);
      std::uint8_t* rowbuf = scratch<std::uint8_t>(3, row_bytes + 16);
      for (std::size_t kb = 0; kb < w.cols; kb += KC) {
        const std::size_t kc = std::min(KC, w.cols - kb);
        panel(dec, src, rowbuf, r0, n, kb, kc, gs, sc, bi, gpr, w.scales_elem, wT);
        for (std::size_t t0 = 0; t0 < job.m; t0 += T) {
          const float* xr[T];
          LOWBIT_UNROLL
          for (int t = 0; t < T; ++t) {
            const std::size_t tt = t0 + static_cast<std::size_t>(t);
            xr[t] = tt < job.m ? job.x + tt * job.x_stride + kb : zeros;
          }
          for (std::size_t rs = 0; rs < n; rs += NR) micro(xr, wT + rs, kc, yb + t0 * NB + rs);
        }
      }
      for (std::size_t t = 0; t < job.m; ++t)
        std::memcpy(job.y + t * job.y_stride + r0, yb + t * NB, n * sizeof(float));
    });
  }
};
