// qmv: y = W x for a few activation rows, written once over the ops layer.
// Memory-bound: every weight byte is read once, decoded in registers and
// consumed by an FMA. R rows advance together so each prepared x vector is
// loaded once per R rows; each (row, part) pair has its own accumulator so
// the FMA chains are independent. Per group: acc_g = sum x*q, then
// y += scale * acc_g (vector), and the bias enters as bias * sum(x over group)
// (MLX's fold), computed once per row. That fold is exact up to float
// rounding only for f32 scales: with f16/bf16 scales the weights are defined
// as MLX's dequantize makes them, round_S(round_S(q*s) + b) (the reference),
// so RS != float builds each weight that way and accumulates w*x directly.
// No include guard (see unpack-inl.hpp).

template <class Ops, int Bits, quant_mode Mode, plan Plan, class RS = float>
struct qmv_kernel {
  using Dec = chunk_decoder<Ops, Bits, Mode, Plan>;
  using vf = typename Ops::vf;
  static constexpr int P = Dec::P;
  static constexpr std::size_t N = Ops::N;
  static constexpr bool affine = Mode == quant_mode::affine;
  static constexpr bool fold = !affine || std::is_same_v<RS, float>;  // scale per group, bias via sum(x)

  /// RS = f16/bf16 and <= 4 bits: per group, the 2^bits possible weights are
  /// built once as a 16-entry table (exact, like the reference), and each code
  /// becomes its weight with one table lookup: as cheap as the f32 fold.
  static constexpr bool use_lut = !fold && Bits <= 4;

  template <int R>
  static void rows_lut(const Dec& dec, const std::uint8_t* const* rp, std::size_t gpr, std::size_t cpg,
                       const float* xp, const float* sc, const float* bi, std::size_t ld_params,
                       std::size_t ahead, float* y) {
    alignas(64) static constexpr float iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    alignas(64) float tb[R][16];
    vf acc[R][P];
    LOWBIT_UNROLL
    for (int r = 0; r < R; ++r) LOWBIT_UNROLL
    for (int p = 0; p < P; ++p) acc[r][p] = Ops::zero();
    for (std::size_t g = 0; g < gpr; ++g) {
      typename Ops::table16 t[R];
      LOWBIT_UNROLL
      for (int r = 0; r < R; ++r) {
        const vf s = Ops::set(sc[static_cast<std::size_t>(r) * ld_params + g]);
        const vf b = Ops::set(bi[static_cast<std::size_t>(r) * ld_params + g]);
        for (std::size_t q0 = 0; q0 < 16; q0 += N)
          Ops::store(round_as<Ops, RS>(Ops::add(round_as<Ops, RS>(Ops::mul(Ops::load(iota + q0), s)), b)),
                     tb[r] + q0);
        t[r] = Ops::load_table16(tb[r]);
      }
      for (std::size_t kc = 0; kc < cpg; ++kc) {
        const std::size_t k = g * cpg + kc;
        vf xv[P];
        LOWBIT_UNROLL
        for (int p = 0; p < P; ++p) xv[p] = Ops::load(xp + (k * P + static_cast<std::size_t>(p)) * N);
        LOWBIT_UNROLL
        for (int r = 0; r < R; ++r) {
          typename Ops::vi c[P];
          if (prefetch && k % Dec::chunks_per_line == 0) prefetch_tiles(rp[r] + k * Dec::bytes, ahead);
          dec.codes(rp[r] + k * Dec::bytes, c);
          LOWBIT_UNROLL
          for (int p = 0; p < P; ++p) acc[r][p] = Ops::fma(Ops::lookup16(t[r], c[p]), xv[p], acc[r][p]);
        }
      }
    }
    LOWBIT_UNROLL
    for (int r = 0; r < R; ++r) {
      vf t = acc[r][0];
      LOWBIT_UNROLL
      for (int p = 1; p < P; ++p) t = Ops::add(t, acc[r][p]);
      y[r] = Ops::sum(t);
    }
  }

  /// Weights built one by one (RS = f16/bf16): sum_k round(round(q*s) + b) * x.
  template <int R>
  static void rows_exact(const Dec& dec, const std::uint8_t* const* rp, std::size_t gpr, std::size_t cpg,
                         const float* xp, const float* sc, const float* bi, std::size_t ld_params,
                         std::size_t ahead, float* y) {
    vf acc[R][P];
    LOWBIT_UNROLL
    for (int r = 0; r < R; ++r) LOWBIT_UNROLL
    for (int p = 0; p < P; ++p) acc[r][p] = Ops::zero();
    for (std::size_t g = 0; g < gpr; ++g) {
      for (std::size_t kc = 0; kc < cpg; ++kc) {
        const std::size_t k = g * cpg + kc;
        vf xv[P];
        LOWBIT_UNROLL
        for (int p = 0; p < P; ++p) xv[p] = Ops::load(xp + (k * P + static_cast<std::size_t>(p)) * N);
        LOWBIT_UNROLL
        for (int r = 0; r < R; ++r) {
          vf q[P];
          if (prefetch && k % Dec::chunks_per_line == 0) prefetch_tiles(rp[r] + k * Dec::bytes, ahead);
          dec(rp[r] + k * Dec::bytes, q);
          const float s = sc[static_cast<std::size_t>(r) * ld_params + g];
          const vf b = Ops::set(bi[static_cast<std::size_t>(r) * ld_params + g]);
          LOWBIT_UNROLL
          for (int p = 0; p < P; ++p) {
            const vf w = round_as<Ops, RS>(
                Ops::add(round_as<Ops, RS>(Ops::mul(q[p], Ops::set(s * Dec::x_factor(p)))), b));
            acc[r][p] = Ops::fma(w, xv[p], acc[r][p]);
          }
        }
      }
    }
    LOWBIT_UNROLL
    for (int r = 0; r < R; ++r) {
      vf t = acc[r][0];
      LOWBIT_UNROLL
      for (int p = 1; p < P; ++p) t = Ops::add(t, acc[r][p]);
      y[r] = Ops::sum(t);
    }
  }

  template <int R>
  static void rows_fold(const Dec& dec, const std::uint8_t* const* rp, std::size_t gpr, std::size_t cpg,
                        const float* xp, const float* sc, const float* bi, std::size_t ld_params,
                        const float* xsum, std::size_t ahead, float* y) {
    vf racc[R];
    LOWBIT_UNROLL
    for (int r = 0; r < R; ++r) racc[r] = Ops::zero();
    for (std::size_t g = 0; g < gpr; ++g) {
      vf gacc[R][P];
      LOWBIT_UNROLL
      for (int r = 0; r < R; ++r) LOWBIT_UNROLL
      for (int p = 0; p < P; ++p) gacc[r][p] = Ops::zero();
      for (std::size_t kc = 0; kc < cpg; ++kc) {
        const std::size_t k = g * cpg + kc;
        vf xv[P];
        LOWBIT_UNROLL
        for (int p = 0; p < P; ++p) xv[p] = Ops::load(xp + (k * P + static_cast<std::size_t>(p)) * N);
        LOWBIT_UNROLL
        for (int r = 0; r < R; ++r) {
          vf q[P];
          if (prefetch && k % Dec::chunks_per_line == 0) prefetch_tiles(rp[r] + k * Dec::bytes, ahead);
          dec(rp[r] + k * Dec::bytes, q);
          LOWBIT_UNROLL
          for (int p = 0; p < P; ++p) gacc[r][p] = Ops::fma(q[p], xv[p], gacc[r][p]);
        }
      }
      LOWBIT_UNROLL
      for (int r = 0; r < R; ++r) {
        vf s = gacc[r][0];
        LOWBIT_UNROLL
        for (int p = 1; p < P; ++p) s = Ops::add(s, gacc[r][p]);
        racc[r] = Ops::fma(s, Ops::set(sc[static_cast<std::size_t>(r) * ld_params + g]), racc[r]);
      }
    }
    LOWBIT_UNROLL
    for (int r = 0; r < R; ++r) {
      float v = Ops::sum(racc[r]);
      if constexpr (affine) v += dot_f32<Ops>(bi + static_cast<std::size_t>(r) * ld_params, xsum, gpr);
      y[r] = v;
    }
  }

  /// Each code load prefetches one and several tiles on (prefetch_tiles; row_tiles' next tile
  /// is the next row in memory). 1 thread, 4 adjacent rows per tile then,
  /// 14336 x 4096 f16 scales, interleaved runs: exact 4-bit 8.6 -> 11.1 GB/s, 3-bit 4.4 -> 6.8,
  /// 8-bit 8.0 -> 9.7; 2-bit went 6.6 -> 6.1: it is compute-bound (6.6-7.0 GB/s from L2 too, the
  /// per-group tables cover half as many bytes), so the prefetches only cost issue slots.
  static constexpr bool prefetch = Bits > 2;
  template <int R>
  static void rows(const Dec& dec, const std::uint8_t* const* rp, std::size_t gpr, std::size_t cpg,
                   const float* xp, const float* sc, const float* bi, const float* xsum,
                   std::size_t row_bytes, float* y) {
    if constexpr (fold)
      rows_fold<R>(dec, rp, gpr, cpg, xp, sc, bi, gpr, xsum, row_bytes, y);
    else if constexpr (use_lut)
      rows_lut<R>(dec, rp, gpr, cpg, xp, sc, bi, gpr, row_bytes, y);
    else
      rows_exact<R>(dec, rp, gpr, cpg, xp, sc, bi, gpr, row_bytes, y);
  }

  static void run(const matmul_job& job) {
    const qjob& w = job.w;
    const std::size_t gs = static_cast<std::size_t>(w.format.group_size);
    const std::size_t gpr = w.cols / gs, cpg = gs / Dec::C;
    const std::size_t row_bytes = w.cols * Bits / 8;
    std::vector<float> xp(w.cols * job.m), xsum(gpr * job.m, 0.0f);
    for (std::size_t t = 0; t < job.m; ++t) {
      const float* x = job.x + t * job.x_stride;
      prepare_x<Dec>(x, w.cols, xp.data() + t * w.cols, fold);
      if constexpr (affine && fold)
        for (std::size_t g = 0; g < gpr; ++g) {
          float s = 0.0f;
          for (std::size_t k = 0; k < gs; ++k) s += x[g * gs + k];
          xsum[t * gpr + g] = s;
        }
    }
    for_route_rows(job, [&](const matmul_route& rt, std::size_t begin, std::size_t end) {
      constexpr std::size_t R = 4;
      const Dec dec;
      const row_source src{reinterpret_cast<const std::uint8_t*>(rt.w.packed), row_bytes, w.rows * row_bytes,
                           Dec::needs_pad};
      float* sc = scratch<float>(0, 2 * R * gpr);
      float* bi = sc + R * gpr;
      std::uint8_t* rowbuf = scratch<std::uint8_t>(3, R * (row_bytes + 16));
      row_tiles<R>(begin, end).for_each([&](const std::size_t* rws, std::size_t n) {
        const std::uint8_t* rp[R];
        for (std::size_t i = 0; i < n; ++i) {
          group_params<Ops>(rt.w, rws[i], sc + i * gpr, bi + i * gpr);
          rp[i] = src.get(rws[i], rowbuf + i * (row_bytes + 16));
        }
        for (std::size_t t = rt.t0; t < rt.t1; ++t) {
          const float* x = xp.data() + t * w.cols;
          const float* xs = xsum.data() + t * gpr;
          float yr[R];
          if (n == R)
            rows<R>(dec, rp, gpr, cpg, x, sc, bi, xs, row_bytes, yr);
          else
            for (std::size_t i = 0; i < n; ++i)
              rows<1>(dec, rp + i, gpr, cpg, x, sc + i * gpr, bi + i * gpr, xs, row_bytes, yr + i);
          for (std::size_t i = 0; i < n; ++i) rt.y_row(t)[rws[i]] = yr[i];
        }
      });
    });
  }
};
