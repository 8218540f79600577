// dequantize: out = W, written once over the ops layer, bit-exact with
// reference::weight_value (see kernels/reference/element.hpp for the rounding
// rules): affine rounds (q*scale) and (+ bias) separately to the scales dtype
// RS (never fused: fence), then converts to Out. mx: elem * (2^(s-127) rounded
// to Out). nv: elem * scale factor, rounded once to Out.
// Affine <= 4 bits goes through dequant_table-inl.hpp (16-entry output tables
// per group, no float work per element); this arithmetic path keeps 5/6/8-bit
// (too many entries for a table) and the fp modes.
// No include guard (see unpack-inl.hpp).

template <class Ops, int Bits, quant_mode Mode, plan Plan, class Out, class RS>
struct dequant_kernel {
  using Dec = chunk_decoder<Ops, Bits, Mode, Plan>;
  using vf = typename Ops::vf;
  static_assert(Plan == plan::window || Plan == plan::byte, "dequantize walks chunks in element order");
  static constexpr std::size_t N = Ops::N;

  static void store(vf v, Out* p) {
    if constexpr (std::is_same_v<Out, f16>)
      Ops::store_f16(v, p);
    else if constexpr (std::is_same_v<Out, bf16>)
      Ops::store_bf16(v, p);
    else
      Ops::store(v, p);
  }
  static void run(const dequant_job& job) {
    const qjob& w = job.w;
    const std::size_t gs = static_cast<std::size_t>(w.format.group_size);
    if constexpr (Mode == quant_mode::affine && Bits <= 4) {
      using Table = dequant_table_kernel<Ops, Bits, Out, RS>;
      if (Table::supported(gs)) return Table::run(job);
    }
    const std::size_t gpr = w.cols / gs, cpg = gs / Dec::C;
    const std::size_t row_bytes = w.cols * Bits / 8;
    const row_source src{reinterpret_cast<const std::uint8_t*>(w.packed), row_bytes, w.rows * row_bytes,
                         Dec::needs_pad};
    const std::size_t c = job.ex.concurrency();
    // Rows aligned so tasks never share an output cache line.
    const range_split split(w.rows, 32, c == 1 ? 1 : 4 * c);
    job.ex.parallel_for(split.tasks, [&](std::size_t task) {
      const row_output<Out> out(job.out, w.cols, job.stream);
      const Dec dec;
      float* sc = scratch<float>(0, 2 * gpr);
      float* bi = sc + gpr;
      std::uint8_t* rowbuf = scratch<std::uint8_t>(3, row_bytes + 16);
      for (std::size_t r = split.begin(task); r < split.end(task); ++r) {
        group_params<Ops>(w, r, sc, bi);
        const std::uint8_t* row = src.get(r, rowbuf);
        Out* o = out.row(r);
        for (std::size_t g = 0; g < gpr; ++g) {
          vf s, b;
          if constexpr (Mode == quant_mode::affine) {
            s = Ops::set(sc[g]);
            b = Ops::set(bi[g]);
          } else if constexpr (Mode == quant_mode::nvfp4) {
            s = Ops::set(sc[g]);
          } else {
            s = Ops::set(detail::round_to<Out>(sc[g]));
          }
          for (std::size_t kc = 0; kc < cpg; ++kc) {
            const std::size_t k = g * cpg + kc;
            vf q[Dec::P];
            dec(row + k * Dec::bytes, q);
            LOWBIT_UNROLL
            for (int p = 0; p < Dec::P; ++p) {
              vf v;
              if constexpr (Mode == quant_mode::affine) {
                v = Ops::add(round_as<Ops, RS>(Ops::mul(q[p], s)), b);
                if constexpr (!std::is_same_v<RS, float> && !std::is_same_v<RS, Out>)
                  v = round_as<Ops, RS>(v);
              } else {
                v = Ops::mul(q[p], s);
              }
              store(v, o + k * Dec::C + static_cast<std::size_t>(p) * N);
            }
          }
        }
        out.done(r);
      }
    });
  }
};
