// Table dequantize for affine codes of <= 4 bits: per group the 2^bits
// possible outputs are built once, exactly as reference::weight_value rounds
// them (q*s and + b each rounded to the scales dtype RS, then to Out), and
// every code becomes its output by a 16-entry table lookup. No float work per
// element: the arithmetic path spends 3-4 f16 conversions per 16 outputs
// (F16C is slow on Zen 5) and was compute-bound at 0.3-0.7 of copy bandwidth.
//  f16/bf16 Out: the table holds Out's bit patterns in uint32 lanes; a lane
//    pairs elements 2j and 2j+1 (low, high half), so one 32-bit store per lane
//    writes 2 outputs in element order with no conversion and no interleave.
//  f32 Out: a float table, codes decoded in element order (window decoder).
// No include guard (see unpack-inl.hpp); needs unpack-inl.hpp first.

/// Stores the N uint32 lanes of v (bit patterns) to p: 4N bytes, any alignment.
template <class Ops>
void store_lanes(typename Ops::vi v, void* p) {
  if constexpr (Ops::N == 1) {
    const std::uint32_t b = v;  // one lane: plain bytes, no float type punning
    std::memcpy(p, &b, 4);
  } else {
    Ops::store(Ops::as_f32(v), static_cast<float*>(p));  // a move: the bits are kept
  }
}

/// Decodes pairs: part p of a chunk gives lo, hi with lane j holding the codes
/// of elements 2j and 2j+1 of that part (2N codes). 4-bit: a byte is a pair
/// (N bytes widened, no window). 2/3-bit: each lane takes the <= 2 bytes that
/// hold its 2*Bits bits from a 16-byte window, shifted into place. A chunk is
/// `parts` parts, enough to end on a byte boundary (one when N >= 4).
template <class Ops, int Bits>
struct pair_decoder {
  using vi = typename Ops::vi;
  static constexpr bool nib = Bits == 4;
  static constexpr int parts = static_cast<int>(8 / std::gcd(2 * Ops::N * Bits, std::size_t{8}));
  static constexpr std::size_t C = 2 * Ops::N * static_cast<std::size_t>(parts);  // codes per chunk
  static constexpr std::size_t bytes = C * Bits / 8;
  static constexpr bool needs_pad = !nib;  // the window reads 16 bytes per part
  // pshufb indexes within each 128-bit block: every lane must find its bytes
  // in the one 16-byte window.
  static constexpr bool fits = nib || 2 * Ops::N * Bits + 7 <= 128;

  struct window {
    typename Ops::vidx idx[parts];
    vi shift[parts];
  };
  [[no_unique_address]] std::conditional_t<nib, char, window> win{};
  vi mask = Ops::seti((1u << Bits) - 1u);

  pair_decoder() {
    if constexpr (!nib) {
      for (int p = 0; p < parts; ++p) {
        alignas(64) std::uint8_t ib[4 * Ops::N];
        alignas(64) std::uint32_t sh[Ops::N];
        const std::size_t first = static_cast<std::size_t>(p) * 2 * Ops::N * Bits % 8;
        for (std::size_t j = 0; j < Ops::N; ++j) {
          const std::size_t bit = first + 2 * j * Bits;
          const auto o = static_cast<std::uint8_t>(bit / 8);
          ib[4 * j] = o;
          ib[4 * j + 1] = bit % 8 + 2 * Bits > 8 ? static_cast<std::uint8_t>(o + 1) : 0x80;
          ib[4 * j + 2] = ib[4 * j + 3] = 0x80;
          sh[j] = static_cast<std::uint32_t>(bit % 8);
        }
        win.idx[p] = Ops::load_idx(ib);
        win.shift[p] = Ops::load_i(sh);
      }
    }
  }

  void operator()(const std::uint8_t* chunk, int p, vi& lo, vi& hi) const {
    if constexpr (nib) {
      const vi v = Ops::load_u8(chunk + static_cast<std::size_t>(p) * Ops::N);
      lo = Ops::band(v, mask);
      hi = Ops::template shr<4>(v);
    } else {
      const std::uint8_t* base = chunk + static_cast<std::size_t>(p) * 2 * Ops::N * Bits / 8;
      const vi v = Ops::shrv(Ops::lookup_bytes(Ops::load_dup16(base), win.idx[p]), win.shift[p]);
      lo = Ops::band(v, mask);
      hi = Ops::band(Ops::template shr<Bits>(v), mask);
    }
  }
};

template <class Ops, int Bits, class Out, class RS>
struct dequant_table_kernel {
  using vf = typename Ops::vf;
  using vi = typename Ops::vi;
  static constexpr std::size_t N = Ops::N;
  static constexpr bool wide = std::is_same_v<Out, float>;
  using Pairs = pair_decoder<Ops, Bits>;
  using Win = chunk_decoder<Ops, Bits, quant_mode::affine, plan::window>;
  static constexpr std::size_t C = wide ? Win::C : Pairs::C;  // codes per chunk
  static constexpr std::size_t chunk_bytes = wide ? Win::bytes : Pairs::bytes;
  static constexpr bool needs_pad = wide ? Win::needs_pad : Pairs::needs_pad;

  /// Whether this kernel handles the format on this backend (else the
  /// arithmetic kernel runs): tables are 16 entries, chunks must tile groups.
  static constexpr bool supported(std::size_t group_size) noexcept {
    return Bits <= 4 && (wide || Pairs::fits) && 16 % N == 0 && group_size % C == 0;
  }

  /// The 16 outputs of a group with scale s and bias b, as the reference
  /// computes them: round_RS(round_RS(q*s) + b), then Out's rounding. `tab`
  /// gets Out's bits in uint32 lanes (16-bit Out) or the floats (f32 Out).
  static typename Ops::table16 build(float s, float b, float* tab) {
    alignas(64) static constexpr float iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const vf sv = Ops::set(s), bv = Ops::set(b);
    for (std::size_t q0 = 0; q0 < 16; q0 += N) {
      vf v = Ops::add(round_as<Ops, RS>(Ops::mul(Ops::load(iota + q0), sv)), bv);
      if constexpr (!std::is_same_v<RS, float> && !std::is_same_v<RS, Out>) v = round_as<Ops, RS>(v);
      if constexpr (wide) {
        Ops::store(v, tab + q0);
      } else {
        alignas(64) Out o[N];  // Out's rounding (RNE, as the reference's conversion)
        if constexpr (std::is_same_v<Out, f16>)
          Ops::store_f16(v, o);
        else
          Ops::store_bf16(v, o);
        store_lanes<Ops>(Ops::load_u16(reinterpret_cast<const std::uint16_t*>(o)), tab + q0);
      }
    }
    return Ops::load_table16(tab);
  }

  static void run(const dequant_job& job) {
    const qjob& w = job.w;
    const std::size_t gs = static_cast<std::size_t>(w.format.group_size);
    const std::size_t gpr = w.cols / gs, cpg = gs / C;
    const std::size_t row_bytes = w.cols * Bits / 8;
    const row_source src{reinterpret_cast<const std::uint8_t*>(w.packed), row_bytes, w.rows * row_bytes,
                         needs_pad};
    const std::size_t c = job.ex.concurrency();
    // Rows aligned so tasks never share an output cache line.
    const range_split split(w.rows, 32, c == 1 ? 1 : 4 * c);
    job.ex.parallel_for(split.tasks, [&](std::size_t task) {
      const row_output<Out> out(job.out, w.cols, job.stream);
      const std::conditional_t<wide, Win, Pairs> dec;
      float* sc = scratch<float>(0, 2 * gpr);
      float* bi = sc + gpr;
      std::uint8_t* rowbuf = scratch<std::uint8_t>(3, row_bytes + 16);
      alignas(64) float tab[16];
      for (std::size_t r = split.begin(task); r < split.end(task); ++r) {
        group_params<Ops>(w, r, sc, bi);
        const std::uint8_t* row = src.get(r, rowbuf);
        Out* o = out.row(r);
        for (std::size_t g = 0; g < gpr; ++g) {
          const typename Ops::table16 t = build(sc[g], bi[g], tab);
          for (std::size_t kc = 0; kc < cpg; ++kc) {
            const std::size_t k = g * cpg + kc;
            const std::uint8_t* chunk = row + k * chunk_bytes;
            Out* oc = o + k * C;
            if constexpr (wide) {
              vi q[Win::P];
              dec.codes(chunk, q);
              LOWBIT_UNROLL
              for (int p = 0; p < Win::P; ++p)
                Ops::store(Ops::lookup16(t, q[p]), oc + static_cast<std::size_t>(p) * N);
            } else {
              LOWBIT_UNROLL
              for (int p = 0; p < Pairs::parts; ++p) {
                vi lo, hi;
                dec(chunk, p, lo, hi);
                const vi v = Ops::bor(Ops::as_u32(Ops::lookup16(t, lo)),
                                      Ops::template shl<16>(Ops::as_u32(Ops::lookup16(t, hi))));
                store_lanes<Ops>(v, oc + static_cast<std::size_t>(p) * 2 * N);
              }
            }
          }
        }
        out.done(r);
      }
    });
  }
};
