// Unpacking MLX code streams into float lanes, written once over the ops
// layer. No include guard: included inside a backend namespace by
// kernels/portable.hpp and, per Highway target, kernels/highway_targets-inl.hpp
// (prerequisites: kernels/job.hpp and the standard headers it includes).

/// Pulls N codes of Bits bits out of a 16-byte window: each lane's (at most
/// two) bytes are shuffled into place, shifted by the lane's bit offset and
/// masked. A chunk is `parts` windows, enough that it ends on a byte boundary
/// (one window when N*Bits is a multiple of 8). Reads up to 16 bytes past a
/// window's start: callers pad the last rows of a buffer (row_source).
template <class Ops, int Bits>
struct window_decoder {
  static constexpr int parts = static_cast<int>(8 / std::gcd(Ops::N * Bits, std::size_t{8}));
  static_assert(Ops::N * Bits + (parts == 1 ? 0 : 7) <= 128, "a window must fit 128 bits");
  typename Ops::vidx idx[parts];
  typename Ops::vi shift[parts];
  typename Ops::vi mask;
  window_decoder() {
    for (int p = 0; p < parts; ++p) {
      alignas(64) std::uint8_t ib[4 * Ops::N];
      alignas(64) std::uint32_t sh[Ops::N];
      const std::size_t first =
          static_cast<std::size_t>(p) * Ops::N * Bits % 8;  // bit offset in the base byte
      for (std::size_t i = 0; i < Ops::N; ++i) {
        const std::size_t bit = first + i * Bits;
        const auto o = static_cast<std::uint8_t>(bit / 8);
        ib[4 * i] = o;
        ib[4 * i + 1] = (bit % 8) + Bits > 8 ? static_cast<std::uint8_t>(o + 1) : 0x80;
        ib[4 * i + 2] = ib[4 * i + 3] = 0x80;
        sh[i] = static_cast<std::uint32_t>(bit % 8);
      }
      idx[p] = Ops::load_idx(ib);
      shift[p] = Ops::load_i(sh);
    }
    mask = Ops::seti((1u << Bits) - 1u);
  }
  /// Codes [p*N, p*N + N) of the chunk starting at `chunk`.
  typename Ops::vi operator()(const std::uint8_t* chunk, int p) const {
    const std::uint8_t* base = chunk + static_cast<std::size_t>(p) * Ops::N * Bits / 8;
    return Ops::band(Ops::shrv(Ops::lookup_bytes(Ops::load_dup16(base), idx[p]), shift[p]), mask);
  }
};

/// Decodes one chunk (Ops::N * parts codes, N*parts*Bits/8 bytes) into `parts`
/// float vectors. Affine: the codes as floats; for nib/quad the parts keep the
/// codes unshifted (x is pre-divided instead, MLX's trick). fp modes: the
/// element values (E2M1, E4M3), built from bits (exact: power-of-two rescale).
template <class Ops, int Bits, quant_mode Mode, plan Plan>
struct chunk_decoder {
  using vf = typename Ops::vf;
  using vi = typename Ops::vi;
  static constexpr int P = Plan == plan::window ? window_decoder<Ops, Bits>::parts : plan_parts(Plan);
  static constexpr std::size_t C = Ops::N * P;        // codes per chunk
  static constexpr std::size_t bytes = C * Bits / 8;  // bytes per chunk
  static constexpr bool affine = Mode == quant_mode::affine;
  static constexpr bool needs_pad = Plan == plan::window;  // reads 16 bytes per chunk
  /// Chunks per 64-byte line when they tile it (one prefetch per line), else 1.
  static constexpr std::size_t chunks_per_line = 64 % bytes == 0 ? 64 / bytes : 1;

  [[no_unique_address]] std::conditional_t<Plan == plan::window, window_decoder<Ops, Bits>, char> win{};

  static vf value(vi c) {
    if constexpr (affine) {
      return Ops::to_f32(c);
    } else if constexpr (Bits == 4) {  // E2M1: bits e e m at 24..22 -> float * 2^126
      const vi b = Ops::bor(Ops::template shl<22>(Ops::band(c, Ops::seti(7))),
                            Ops::template shl<28>(Ops::band(c, Ops::seti(8))));
      return Ops::mul(Ops::as_f32(b), Ops::set(0x1p126f));
    } else {  // E4M3: bits at 26..20 -> float * 2^120 (0x7f = 480, as MLX decodes)
      const vi b = Ops::bor(Ops::template shl<20>(Ops::band(c, Ops::seti(0x7f))),
                            Ops::template shl<24>(Ops::band(c, Ops::seti(0x80))));
      return Ops::mul(Ops::as_f32(b), Ops::set(0x1p120f));
    }
  }

  void operator()(const std::uint8_t* p, vf* out) const {
    if constexpr (Plan == plan::window) {
      LOWBIT_UNROLL
      for (int k = 0; k < P; ++k) out[k] = value(win(p, k));
    } else if constexpr (Plan == plan::byte) {
      out[0] = value(Ops::load_u8(p));
    } else if constexpr (Plan == plan::nib) {
      const vi v = Ops::load_u8(p);
      if constexpr (affine) {
        out[0] = Ops::to_f32(Ops::band(v, Ops::seti(0x0f)));
        out[1] = Ops::to_f32(Ops::band(v, Ops::seti(0xf0)));
      } else {
        out[0] = value(Ops::band(v, Ops::seti(0x0f)));
        out[1] = value(Ops::template shr<4>(v));
      }
    } else {
      static_assert(affine, "quad plan is affine 2-bit only");
      const vi v = Ops::load_u8(p);
      out[0] = Ops::to_f32(Ops::band(v, Ops::seti(0x03)));
      out[1] = Ops::to_f32(Ops::band(v, Ops::seti(0x0c)));
      out[2] = Ops::to_f32(Ops::band(v, Ops::seti(0x30)));
      out[3] = Ops::to_f32(Ops::band(v, Ops::seti(0xc0)));
    }
  }

  /// The raw codes of one chunk, one vector per part (for table lookups).
  void codes(const std::uint8_t* p, vi* out) const {
    if constexpr (Plan == plan::window) {
      LOWBIT_UNROLL
      for (int k = 0; k < P; ++k) out[k] = win(p, k);
    } else if constexpr (Plan == plan::byte) {
      out[0] = Ops::load_u8(p);
    } else if constexpr (Plan == plan::nib) {
      const vi v = Ops::load_u8(p);
      out[0] = Ops::band(v, Ops::seti(0x0f));
      out[1] = Ops::template shr<4>(v);
    } else {
      const vi v = Ops::load_u8(p);
      out[0] = Ops::band(v, Ops::seti(3));
      out[1] = Ops::band(Ops::template shr<2>(v), Ops::seti(3));
      out[2] = Ops::band(Ops::template shr<4>(v), Ops::seti(3));
      out[3] = Ops::template shr<6>(v);
    }
  }

  /// Element index (within the chunk) of part p, lane j; and the factor x is
  /// pre-multiplied by so an unshifted affine code part gives x*q.
  static constexpr std::size_t element(int p, std::size_t j) noexcept {
    const auto pp = static_cast<std::size_t>(p);
    return Plan == plan::window ? pp * Ops::N + j : j * P + pp;
  }
  static constexpr float x_factor(int p) noexcept {
    if constexpr (!affine || (Plan != plan::nib && Plan != plan::quad))
      return 1.0f;
    else
      return p == 0 ? 1.0f : 1.0f / static_cast<float>(1u << (Bits * p));
  }
};

/// Window and byte chunks are in element order; nib and quad interleave.
/// x[cols] -> the chunk order the decoder produces: xp[(k*P + p)*N + j] =
/// x[k*C + element(p, j)] * x_factor(p).
template <class Dec>
void prepare_x(const float* x, std::size_t cols, float* xp, bool prescale = true) {
  constexpr std::size_t N = Dec::C / Dec::P;
  for (std::size_t k = 0; k < cols / Dec::C; ++k) LOWBIT_UNROLL
  for (int p = 0; p < Dec::P; ++p)
    for (std::size_t j = 0; j < N; ++j)
      xp[(k * Dec::P + static_cast<std::size_t>(p)) * N + j] =
          x[k * Dec::C + Dec::element(p, j)] * (prescale ? Dec::x_factor(p) : 1.0f);
}

/// v rounded to T's precision (f16/bf16, RNE); for float an FMA-contraction
/// fence, so a product meant to be rounded on its own is not fused into an add.
/// Declared inline like the in-class members it replaced: g++ 12 -O2 then inlines
/// it; an out-of-line copy trips its false -Wuninitialized inside avx512fintrin.h
/// (the _mm512_undefined_* idiom) in the xsimd AVX-512 objects.
template <class Ops, class T>
inline typename Ops::vf round_as(typename Ops::vf v) {
  if constexpr (std::is_same_v<T, f16>)
    return Ops::round_f16(v);
  else if constexpr (std::is_same_v<T, bf16>)
    return Ops::round_bf16(v);
  else
    return Ops::fence(v);
}

/// N floats from values stored as S (f16/bf16 converted exactly, float as is).
template <class Ops, class S>
inline typename Ops::vf load_as(const S* p) {
  if constexpr (std::is_same_v<S, f16>)
    return Ops::load_f16(p);
  else if constexpr (std::is_same_v<S, bf16>)
    return Ops::load_bf16(p);
  else
    return Ops::load(p);
}

/// sum a[i]*b[i], vectorized (a scalar loop is a latency chain as long as a row's vector work).
template <class Ops>
float dot_f32(const float* a, const float* b, std::size_t n) {
  typename Ops::vf acc = Ops::zero();
  std::size_t i = 0;
  for (; i + Ops::N <= n; i += Ops::N) acc = Ops::fma(Ops::load(a + i), Ops::load(b + i), acc);
  float t = Ops::sum(acc);
  for (; i < n; ++i) t += a[i] * b[i];
  return t;
}

/// Row pointers that are safe for the decoder: rows whose last 16-byte window
/// would run past the end of the buffer are copied into padded scratch.
struct row_source {
  const std::uint8_t* base;
  std::size_t row_bytes, buffer_bytes;
  bool pad;
  const std::uint8_t* get(std::size_t r, std::uint8_t* scratch) const {
    const std::uint8_t* p = base + r * row_bytes;
    if (!pad || (r + 1) * row_bytes + 16 <= buffer_bytes) return p;
    std::memcpy(scratch, p, row_bytes);
    std::memset(scratch + row_bytes, 0, 16);
    return scratch;
  }
};

/// The mat-vecs' prefetch, for a load at p in a tile row that lies `ahead` bytes before
/// the same row of the next tile (one row with row_tiles' streams): the same offset one
/// tile on into L1, and l2_tiles tiles on into L2 only (prefetcht1), so the L1 fill
/// buffers need not hold the whole distance. int8 qmv, 1 thread, 14336 x 4096, interleaved
/// runs, rows 64-byte aligned / 16 bytes off (as in a malloc'd buffer): 4-bit with the L2
/// prefetch 21.4-23.8 (two outliers 15.6, 16.8) / 18.5-22.9 GB/s, without it 21.7-24.6 /
/// 13.9-17.6; 3-bit with it 15.5-17.8 / 15.3-18.0, without 19.3-22.9 / 19.9-21.7
/// (issuing the prefetches once per line instead of once per 24-byte span: no change).
/// Kept for 4-bit rows at any alignment, the common case (the int8 kernel's 3/5/6/8-bit
/// spans go without it: numbers at int8_kernel::l2_prefetch). With 4 adjacent
/// rows per tile (before row_tiles) it had taken 4-bit 18.2-18.8 to 19.5-21.0 GB/s; one L1 prefetch
/// farther on was slower; one tile on had beaten 1 KiB ahead within the row (0.72-0.82
/// vs 0.61-0.63 of read). The LUT mat-vec goes without it (L2 = false): 4-bit 21.4-21.8 GB/s
/// without, 19.6-19.8 with; 6-bit 19.4-20.0 / 18.3-18.4 (lowbit-bench-lut-kernels).
template <bool L2 = true>
inline void prefetch_tiles(const std::uint8_t* p, std::size_t ahead) noexcept {
  constexpr std::size_t l2_tiles = 6;
#if defined(__GNUC__)
  __builtin_prefetch(p + ahead);
  if constexpr (L2) __builtin_prefetch(p + l2_tiles * ahead, 0, 2);
#else
  (void)p, (void)ahead;
#endif
}

/// Per-thread scratch reused across calls: a kernel call must not page-fault
/// fresh allocations (large vectors are mmapped and zeroed on every use).
/// Slot s of the calling thread, at least n elements, contents unspecified.
template <class T>
T* scratch(int slot, std::size_t n) {
  thread_local std::vector<T> bufs[8];
  auto& b = bufs[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

/// fn(scales, biases) on an affine row's stored parameters, typed as stored (f16, bf16
/// or float): the one dtype dispatch of the kernels that read them directly.
template <class Fn>
decltype(auto) with_row_params(const qjob& w, std::size_t row, Fn&& fn) {
  const std::size_t off = row * (w.cols / static_cast<std::size_t>(w.format.group_size));
  switch (w.scales_kind) {
    case scale_kind::f16:
      return fn(static_cast<const f16*>(w.scales) + off, static_cast<const f16*>(w.biases) + off);
    case scale_kind::bf16:
      return fn(static_cast<const bf16*>(w.scales) + off, static_cast<const bf16*>(w.biases) + off);
    default:  // affine scales are f32, f16 or bf16
      return fn(static_cast<const float*>(w.scales) + off, static_cast<const float*>(w.biases) + off);
  }
}

/// load_group_params with f16/bf16 scales converted N at a time (the scalar
/// conversion costs as much as the row's vector work).
template <class Ops>
void group_params(const qjob& w, std::size_t row, float* sc, float* bi) {
  if (w.scales_kind != scale_kind::f16 && w.scales_kind != scale_kind::bf16) {
    load_group_params(w, row, sc, bi);
    return;
  }
  const std::size_t gpr = w.cols / static_cast<std::size_t>(w.format.group_size);
  with_row_params(w, row, [&](const auto* s, const auto* b) {
    using S = std::remove_cv_t<std::remove_pointer_t<decltype(s)>>;
    std::size_t g = 0;
    for (; g + Ops::N <= gpr; g += Ops::N)
      Ops::store(load_as<Ops, S>(s + g), sc + g), Ops::store(load_as<Ops, S>(b + g), bi + g);
    for (; g < gpr; ++g) sc[g] = to_float(s[g]), bi[g] = to_float(b[g]);
  });
}
