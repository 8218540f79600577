// The layer sweep of kmeans1d_optimal, compiled once per instruction set.
// No include guard: lut_kmeans1d.hpp includes it inside a target pragma
// region with LOWBIT_KMEANS1D_NS naming the namespace, once per ISA, and picks
// one at run time. The vector typedefs must be declared inside the region:
// declared outside (as with target_clones), g++ 12 lowers their compares and
// selects lane by lane in the AVX-512 clone, which costs 2x.

namespace lowbit::detail::kmeans1d_impl::LOWBIT_KMEANS1D_NS {

// A GNU vector of 8 doubles: g++ and clang lower it to whatever the target
// has (one zmm with AVX-512, two ymm with AVX2, four xmm with SSE2), so this
// stays portable C++ without an ISA switch. The candidate scan is the whole
// cost of the solver, and it is a plain elementwise expression plus a
// running (value, index) minimum: exactly what these vectors do well.
constexpr int lanes = 8;
typedef double vdouble __attribute__((vector_size(lanes * sizeof(double))));
typedef std::int64_t vindex __attribute__((vector_size(lanes * sizeof(std::int64_t))));
typedef double vd4 __attribute__((vector_size(4 * sizeof(double))));
typedef std::int64_t vi4 __attribute__((vector_size(4 * sizeof(std::int64_t))));
typedef double vd2 __attribute__((vector_size(2 * sizeof(double))));
typedef std::int64_t vi2 __attribute__((vector_size(2 * sizeof(std::int64_t))));

// Vectors travel by reference: by value they would change the ABI between
// ISA levels (g++ -Wpsabi), and everything here inlines anyway.
template <class V>
[[gnu::always_inline]] inline void load(V& v, const double* p) noexcept {
  std::memcpy(&v, p, sizeof v);
}

/// Branch-free (value, index) minimum of 4 lanes, smaller index on ties.
[[gnu::always_inline]] inline std::size_t argmin4(const vd4& v, const vi4& i, double& best) noexcept {
  vd2 a = __builtin_shufflevector(v, v, 0, 1), b = __builtin_shufflevector(v, v, 2, 3);
  vi2 ia = __builtin_shufflevector(i, i, 0, 1), ib = __builtin_shufflevector(i, i, 2, 3);
  const vi2 take = (b < a) | ((b == a) & (ib < ia));
  a = take ? b : a;
  ia = take ? ib : ia;
  const bool second = a[1] < a[0] || (a[1] == a[0] && ia[1] < ia[0]);
  best = second ? a[1] : a[0];
  return static_cast<std::size_t>(second ? ia[1] : ia[0]);
}

/// min over j in [lo, hi] of E[j] - (S_i - S_j)^2 / (W_i - W_j); the leftmost argmin.
/// The arrays are padded by `lanes` readable entries past n (see kmeans1d_optimal);
/// lanes past hi are masked. Everything is branch-free except the trip count:
/// most calls come from the fine strides of the sweep, where ranges are 1-4
/// wide and independent, so the CPU overlaps them when no branch mispredicts.
[[gnu::always_inline]] inline std::size_t best_split(const layer& L, std::size_t i, std::size_t lo,
                                                     std::size_t hi, double& best) noexcept {
  const double Si = L.S[i], Wi = L.W[i];
  const double inf = std::numeric_limits<double>::infinity();
  if (hi - lo < 4) {
    const vi4 jv = vi4{0, 1, 2, 3} + static_cast<std::int64_t>(lo);
    vd4 s, w, e;
    load(s, L.S + lo);
    load(w, L.W + lo);
    load(e, L.E + lo);
    const vd4 ds = Si - s;
    vd4 v = e - ds * ds / (Wi - w);
    v = jv <= static_cast<std::int64_t>(hi) ? v : inf;
    return argmin4(v, jv, best);
  }
  // Division-free running minimum: a candidate is the fraction
  // (E_j dW - dS^2) / dW with dW > 0, and a/b < c/d  <=>  a d < c b: two
  // multiplies instead of a divide, which has a fraction of their throughput.
  vdouble n0 = vdouble{} + inf, d0 = vdouble{} + 1.0, n1 = n0, d1 = d0;
  vindex jv = vindex{0, 1, 2, 3, 4, 5, 6, 7} + static_cast<std::int64_t>(lo);
  vindex b0 = jv, b1 = jv;
  const vindex last = vindex{} + static_cast<std::int64_t>(hi);
  auto step = [&](std::size_t j, const vindex& jj, vdouble& bn, vdouble& bd, vindex& bi) {
    vdouble s, w, e;
    load(s, L.S + j);
    load(w, L.W + j);
    load(e, L.E + j);
    const vdouble ds = Si - s, dw = Wi - w;
    const vdouble num = e * dw - ds * ds;
    const vindex better = (num * bd < bn * dw) & (jj <= last);
    bn = better ? num : bn;
    bd = better ? dw : bd;
    bi = better ? jj : bi;
  };
  std::size_t j = lo;
  for (; j + lanes <= hi; j += 2 * lanes, jv += 2 * lanes) {  // two independent minima, as in solve_block
    step(j, jv, n0, d0, b0);
    const vindex jv1 = jv + lanes;
    step(j + lanes, jv1, n1, d1, b1);
  }
  if (j <= hi) step(j, jv, n0, d0, b0);
  const vdouble l = n1 * d0, r = n0 * d1;
  const vindex take1 = (l < r) | ((l == r) & (b1 < b0));
  const vdouble bv = (take1 ? n1 : n0) / (take1 ? d1 : d0);
  const vindex bi = take1 ? b1 : b0;
  vd4 a = __builtin_shufflevector(bv, bv, 0, 1, 2, 3), b = __builtin_shufflevector(bv, bv, 4, 5, 6, 7);
  vi4 ia = __builtin_shufflevector(bi, bi, 0, 1, 2, 3), ib = __builtin_shufflevector(bi, bi, 4, 5, 6, 7);
  const vi4 take = (b < a) | ((b == a) & (ib < ia));
  a = take ? b : a;
  ia = take ? ib : ia;
  return argmin4(a, ia, best);
}

/// Positions i0 .. i0+6 (lane 7 and lanes past `last` keep their values),
/// all of whose argmins lie in [lo, hi]: one i per lane, j broadcast, so no
/// horizontal reduction and no per-position call. Opt moves by about one
/// value per position, so hi - lo is ~8-16 here.
[[gnu::always_inline]] inline void solve_block(const layer& L, std::size_t i0, std::size_t last,
                                               std::size_t lo, std::size_t hi) noexcept {
  typedef std::uint32_t vu32 __attribute__((vector_size(lanes * sizeof(std::uint32_t))));
  const double inf = std::numeric_limits<double>::infinity();
  vdouble si, wi;
  load(si, L.S + i0);
  load(wi, L.W + i0);
  const vindex iv = vindex{0, 1, 2, 3, 4, 5, 6, 7} + static_cast<std::int64_t>(i0);
  // Two running minima over even and odd j: one alone is a chain of
  // multiply -> compare -> blend per j (~8 cycles); two overlap.
  vdouble n0 = vdouble{} + inf, d0 = vdouble{} + 1.0, n1 = n0, d1 = d0;
  vindex b0 = vindex{} + static_cast<std::int64_t>(lo), b1 = b0;
  auto step = [&](std::size_t j, vdouble& bn, vdouble& bd, vindex& bi) {
    const vdouble ds = si - L.S[j], dw = wi - L.W[j];
    const vdouble num = L.E[j] * dw - ds * ds;
    const vindex better = (num * bd < bn * dw) & (static_cast<std::int64_t>(j) < iv);
    bn = better ? num : bn;
    bd = better ? dw : bd;
    bi = better ? vindex{} + static_cast<std::int64_t>(j) : bi;
  };
  std::size_t j = lo;
  for (; j + 1 <= hi; j += 2) {
    step(j, n0, d0, b0);
    step(j + 1, n1, d1, b1);
  }
  if (j <= hi) step(j, n0, d0, b0);
  const vdouble l = n1 * d0, r = n0 * d1;  // n1/d1 < n0/d0, or equal with a smaller j
  const vindex take1 = (l < r) | ((l == r) & (b1 < b0));
  const vdouble bnum = take1 ? n1 : n0, bden = take1 ? d1 : d0;
  const vindex bi = take1 ? b1 : b0;
  const vindex keep = (iv > static_cast<std::int64_t>(last)) | (vindex{0, 0, 0, 0, 0, 0, 0, 1} != 0);
  vdouble out;
  load(out, L.out + i0);
  out = keep ? out : bnum / bden;
  std::memcpy(L.out + i0, &out, sizeof out);
  vu32 opt;
  std::memcpy(&opt, L.opt + i0, sizeof opt);
  const vu32 keep32 = __builtin_convertvector(keep, vu32);
  opt = keep32 ? opt : __builtin_convertvector(bi, vu32);
  std::memcpy(L.opt + i0, &opt, sizeof opt);
}

/// Fills out/opt for i in [ilo, ihi], knowing every argmin is in [jlo, jhi].
/// Stride-halving divide and conquer down to positions p = i - ilo + 1 that
/// are multiples of 8: those at odd multiples of s take their bounds from
/// p - s and p + s, solved at coarser strides (0 and past the end stand for jlo
/// and jhi). The 7 positions between two multiples of 8 then go in one
/// solve_block. The arrays (out, opt, S, W, E) are padded by `lanes` entries.
inline void solve(const layer& layer_ref, std::size_t ilo, std::size_t ihi, std::size_t jlo,
                  std::size_t jhi) noexcept {
  const layer L = layer_ref;  // a local copy: its pointers stay in registers across the stores below
  const std::size_t count = ihi - ilo + 1;
  auto clamp_lower = [&](std::size_t i, std::size_t lo, std::size_t hi) {
    if (L.lower != nullptr && i < L.lower_end) lo = std::max<std::size_t>(lo, L.lower[i]);
    return std::min(lo, hi);  // float rounding can make the bounds cross; stay in range
  };
  for (std::size_t s = std::size_t{1} << (std::bit_width(count) - 1); s >= 8; s >>= 1) {
    for (std::size_t p = s; p <= count; p += 2 * s) {
      const std::size_t i = ilo + p - 1;
      const std::size_t hi = std::min(p + s <= count ? static_cast<std::size_t>(L.opt[i + s]) : jhi, i - 1);
      const std::size_t lo = clamp_lower(i, p > s ? L.opt[i - s] : jlo, hi);
      double best = 0;
      const std::size_t arg = best_split(L, i, lo, hi, best);
      L.out[i] = best;
      L.opt[i] = static_cast<std::uint32_t>(arg);
    }
  }
  for (std::size_t p = 1; p <= count; p += 8) {  // positions p .. p+6; p+7 is a multiple of 8
    const std::size_t i0 = ilo + p - 1;
    const std::size_t hi = std::min(p + 7 <= count ? static_cast<std::size_t>(L.opt[i0 + 7]) : jhi, i0 + 5);
    const std::size_t lo = clamp_lower(i0, p > 1 ? L.opt[i0 - 1] : jlo, hi);
    solve_block(L, i0, ihi, lo, hi);
  }
}

}  // namespace lowbit::detail::kmeans1d_impl::LOWBIT_KMEANS1D_NS
