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
  vdouble bnum = vdouble{} + inf, bden = vdouble{} + 1.0;
  vindex jv = vindex{0, 1, 2, 3, 4, 5, 6, 7} + static_cast<std::int64_t>(lo);
  vindex bi = jv;
  const vindex last = vindex{} + static_cast<std::int64_t>(hi);
  for (std::size_t j = lo; j <= hi; j += lanes, jv += lanes) {
    vdouble s, w, e;
    load(s, L.S + j);
    load(w, L.W + j);
    load(e, L.E + j);
    const vdouble ds = Si - s, dw = Wi - w;
    const vdouble num = e * dw - ds * ds;
    const vindex better = (num * bden < bnum * dw) & (jv <= last);
    bnum = better ? num : bnum;
    bden = better ? dw : bden;
    bi = better ? jv : bi;
  }
  const vdouble bv = bnum / bden;
  vd4 a = __builtin_shufflevector(bv, bv, 0, 1, 2, 3), b = __builtin_shufflevector(bv, bv, 4, 5, 6, 7);
  vi4 ia = __builtin_shufflevector(bi, bi, 0, 1, 2, 3), ib = __builtin_shufflevector(bi, bi, 4, 5, 6, 7);
  const vi4 take = (b < a) | ((b == a) & (ib < ia));
  a = take ? b : a;
  ia = take ? ib : ia;
  return argmin4(a, ia, best);
}

/// Fills out/opt for i in [ilo, ihi], knowing every argmin is in [jlo, jhi].
/// Stride-halving instead of recursion: positions p = i - ilo + 1 that are odd
/// multiples of s take their bounds from p - s and p + s, solved at coarser
/// strides (0 and past the end stand for jlo and jhi). Same evaluations as the
/// recursive divide and conquer, without call overhead on the ~n tiny ranges.
inline void solve(const layer& layer_ref, std::size_t ilo, std::size_t ihi, std::size_t jlo,
                  std::size_t jhi) noexcept {
  const layer L = layer_ref;  // a local copy: its pointers stay in registers across the stores below
  const std::size_t count = ihi - ilo + 1;
  std::size_t s = std::size_t{1} << (std::bit_width(count) - 1);
  for (; s >= 1; s >>= 1) {
    for (std::size_t p = s; p <= count; p += 2 * s) {
      const std::size_t i = ilo + p - 1;
      std::size_t lo = p > s ? L.opt[i - s] : jlo;
      std::size_t hi = std::min(p + s <= count ? static_cast<std::size_t>(L.opt[i + s]) : jhi, i - 1);
      if (L.lower != nullptr && i < L.lower_end) lo = std::max<std::size_t>(lo, L.lower[i]);
      lo = std::min(lo, hi);  // float rounding can make the bounds cross; stay in range
      double best = 0;
      const std::size_t arg = best_split(L, i, lo, hi, best);
      L.out[i] = best;
      L.opt[i] = static_cast<std::uint32_t>(arg);
    }
  }
}

}  // namespace lowbit::detail::kmeans1d_impl::LOWBIT_KMEANS1D_NS
