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

  static vf round_rs(vf v) {
    if constexpr (std::is_same_v<RS, f16>)
      return Ops::round_f16(v);
    else
      return Ops::round_bf16(v);
  }

  /// Weights built one by one (RS = f16/bf16): sum_k round(round(q*s) + b) * x.
  template <int R>
  static void rows_exact(const Dec& dec, const std::uint8_t* const* rp, std::size_t gpr, std::size_t cpg,
                         const float* xp, const float* sc, const float* bi, std::size_t ld_params, float* y) {
    vf acc[R][P];
    for (int r = 0; r < R; ++r)
      for (int p = 0; p < P; ++p) acc[r][p] = Ops::zero();
    for (std::size_t g = 0; g < gpr; ++g) {
      for (std::size_t kc = 0; kc < cpg; ++kc) {
        const std::size_t k = g * cpg + kc;
        vf xv[P];
        for (int p = 0; p < P; ++p) xv[p] = Ops::load(xp + (k * P + static_cast<std::size_t>(p)) * N);
        for (int r = 0; r < R; ++r) {
          vf q[P];
          dec(rp[r] + k * Dec::bytes, q);
          const float s = sc[static_cast<std::size_t>(r) * ld_params + g];
          const vf b = Ops::set(bi[static_cast<std::size_t>(r) * ld_params + g]);
          for (int p = 0; p < P; ++p) {
            const vf w = round_rs(Ops::add(round_rs(Ops::mul(q[p], Ops::set(s * Dec::x_factor(p)))), b));
            acc[r][p] = Ops::fma(w, xv[p], acc[r][p]);
          }
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      vf t = acc[r][0];
      for (int p = 1; p < P; ++p) t = Ops::add(t, acc[r][p]);
      y[r] = Ops::sum(t);
    }
  }

  template <int R>
  static void rows_fold(const Dec& dec, const std::uint8_t* const* rp, std::size_t gpr, std::size_t cpg,
                        const float* xp, const float* sc, const float* bi, std::size_t ld_params,
                        const float* xsum, float* y) {
    vf racc[R];
    for (int r = 0; r < R; ++r) racc[r] = Ops::zero();
    for (std::size_t g = 0; g < gpr; ++g) {
      vf gacc[R][P];
      for (int r = 0; r < R; ++r)
        for (int p = 0; p < P; ++p) gacc[r][p] = Ops::zero();
      for (std::size_t kc = 0; kc < cpg; ++kc) {
        const std::size_t k = g * cpg + kc;
        vf xv[P];
        for (int p = 0; p < P; ++p) xv[p] = Ops::load(xp + (k * P + static_cast<std::size_t>(p)) * N);
        for (int r = 0; r < R; ++r) {
          vf q[P];
          dec(rp[r] + k * Dec::bytes, q);
          for (int p = 0; p < P; ++p) gacc[r][p] = Ops::fma(q[p], xv[p], gacc[r][p]);
        }
      }
      for (int r = 0; r < R; ++r) {
        vf s = gacc[r][0];
        for (int p = 1; p < P; ++p) s = Ops::add(s, gacc[r][p]);
        racc[r] = Ops::fma(s, Ops::set(sc[static_cast<std::size_t>(r) * ld_params + g]), racc[r]);
      }
    }
    for (int r = 0; r < R; ++r) {
      float v = Ops::sum(racc[r]);
      if constexpr (affine) {
        const float* b = bi + static_cast<std::size_t>(r) * ld_params;
        float t = 0.0f;
        for (std::size_t g = 0; g < gpr; ++g) t += b[g] * xsum[g];
        v += t;
      }
      y[r] = v;
    }
  }

  template <int R>
  static void rows(const Dec& dec, const std::uint8_t* const* rp, std::size_t gpr, std::size_t cpg,
                   const float* xp, const float* sc, const float* bi, const float* xsum, float* y) {
    const std::size_t cpg_ = cpg;
    if constexpr (fold)
      rows_fold<R>(dec, rp, gpr, cpg_, xp, sc, bi, gpr, xsum, y);
    else
      rows_exact<R>(dec, rp, gpr, cpg_, xp, sc, bi, gpr, y);
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
    const row_source src{reinterpret_cast<const std::uint8_t*>(w.packed), row_bytes, w.rows * row_bytes,
                         Dec::needs_pad};
    const std::size_t c = job.ex.concurrency();
    const range_split split(w.rows, 16, c == 1 ? 1 : 4 * c);
    job.ex.parallel_for(split.tasks, [&](std::size_t task) {
      constexpr int R = 4;
      const Dec dec;
      std::vector<float> sc(R * gpr), bi(R * gpr);
      std::vector<std::uint8_t> scratch(R * (row_bytes + 16));
      const std::size_t e = split.end(task);
      std::size_t r = split.begin(task);
      float yr[R];
      for (; r + R <= e; r += R) {
        const std::uint8_t* rp[R];
        for (int i = 0; i < R; ++i) {
          load_group_params(w, r + static_cast<std::size_t>(i), sc.data() + static_cast<std::size_t>(i) * gpr,
                            bi.data() + static_cast<std::size_t>(i) * gpr);
          rp[i] = src.get(r + static_cast<std::size_t>(i),
                          scratch.data() + static_cast<std::size_t>(i) * (row_bytes + 16));
        }
        for (std::size_t t = 0; t < job.m; ++t) {
          rows<R>(dec, rp, gpr, cpg, xp.data() + t * w.cols, sc.data(), bi.data(), xsum.data() + t * gpr, yr);
          for (int i = 0; i < R; ++i) job.y[t * job.y_stride + r + static_cast<std::size_t>(i)] = yr[i];
        }
      }
      for (; r < e; ++r) {
        load_group_params(w, r, sc.data(), bi.data());
        const std::uint8_t* rp[1] = {src.get(r, scratch.data())};
        for (std::size_t t = 0; t < job.m; ++t) {
          rows<1>(dec, rp, gpr, cpg, xp.data() + t * w.cols, sc.data(), bi.data(), xsum.data() + t * gpr, yr);
          job.y[t * job.y_stride + r] = yr[0];
        }
      }
    });
  }
};
