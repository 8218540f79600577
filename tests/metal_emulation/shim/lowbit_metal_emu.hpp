// lowbit's Metal emulation: just enough of MSL, as C++ for clang >= 15, to
// EXECUTE lowbit's kernels on a CPU with real threadgroup semantics.
//  - Address spaces: `device`, `thread`, `threadgroup`, `kernel` are empty
//    macros and `constant` is `const` (defined last, after every std header).
//    Function-scope `threadgroup T name[N];` is rewritten by the translator
//    to tg_array<T[N], id>(): one poisoned (0xFF) block per threadgroup run.
//  - Types: half = _Float16, bfloat = a 16-bit struct with explicit float
//    conversions (no bfloat arithmetic in the subset), uintN/floatN = clang
//    ext_vector_type.
//  - Execution (runtime.cpp): each threadgroup runs as ucontext fibers on one
//    OS thread; threadgroup_barrier and every simd_* op are yield points; a
//    simd op completes when all lanes of the simdgroup reach it, a barrier
//    when all threads do. Anything else (divergent barrier or simd op, a
//    barrier after some threads returned) is reported as an error.
//  - Kernel parameters are bound from their [[buffer(n)]] / position
//    attributes, which the translator records per kernel (<name>_lowbit_attrs).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <utility>

#include "emu_abi.h"

namespace metal {

using uint = unsigned int;
using ushort = unsigned short;
using uchar = unsigned char;
using ulong = unsigned long;
using half = _Float16;

/// MSL 3.1 bfloat as storage: float conversions round to nearest even.
struct bfloat {
  std::uint16_t bits = 0;
  bfloat() = default;
  explicit bfloat(float f) {
    std::uint32_t u = __builtin_bit_cast(std::uint32_t, f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
      bits = static_cast<std::uint16_t>((u >> 16) | 0x40u);  // quiet NaN
    } else {
      u += 0x7fffu + ((u >> 16) & 1u);
      bits = static_cast<std::uint16_t>(u >> 16);
    }
  }
  explicit operator float() const {
    return __builtin_bit_cast(float, static_cast<std::uint32_t>(bits) << 16);
  }
};
static_assert(sizeof(bfloat) == 2, "bfloat is 2 bytes");

#define LOWBIT_EMU_VEC(T, name)                          \
  typedef T name##2 __attribute__((ext_vector_type(2))); \
  typedef T name##3 __attribute__((ext_vector_type(3))); \
  typedef T name##4 __attribute__((ext_vector_type(4)));
LOWBIT_EMU_VEC(float, float)
LOWBIT_EMU_VEC(_Float16, half)
LOWBIT_EMU_VEC(int, int)
LOWBIT_EMU_VEC(unsigned int, uint)
LOWBIT_EMU_VEC(unsigned short, ushort)
#undef LOWBIT_EMU_VEC

template <class T>
inline T min(T a, T b) {
  return b < a ? b : a;
}
template <class T>
inline T max(T a, T b) {
  return a < b ? b : a;
}
template <class T>
inline T clamp(T x, T lo, T hi) {
  return min(max(x, lo), hi);
}
inline float fma(float a, float b, float c) { return std::fma(a, b, c); }
inline float abs(float x) { return std::fabs(x); }
inline float sqrt(float x) { return std::sqrt(x); }
namespace precise {
inline float divide(float a, float b) { return a / b; }
}  // namespace precise
namespace fast {
inline float divide(float a, float b) { return a / b; }
}  // namespace fast
template <class To, class From>
inline To as_type(const From& f) {
  static_assert(sizeof(To) == sizeof(From), "as_type: sizes differ");
  return __builtin_bit_cast(To, f);
}
enum class mem_flags { mem_none = 0, mem_device = 1, mem_threadgroup = 2, mem_texture = 4 };

namespace emu {

/// What the attributes of a kernel parameter can ask for.
enum class arg_kind : unsigned char {
  buffer,
  thread_position_in_grid,
  threadgroup_position_in_grid,
  thread_position_in_threadgroup,
  threads_per_threadgroup,
  threadgroups_per_grid,
  threads_per_grid,
  thread_index_in_threadgroup,
  thread_index_in_simdgroup,
  simdgroup_index_in_threadgroup,
  threads_per_simdgroup,
  simdgroups_per_threadgroup,
};
struct arg_attr {
  arg_kind kind;
  unsigned index;  // buffer index for arg_kind::buffer
};

struct thread_position {
  uint3 thread_position_in_grid, threadgroup_position_in_grid, thread_position_in_threadgroup;
  uint3 threads_per_threadgroup, threadgroups_per_grid, threads_per_grid;
  uint thread_index_in_threadgroup, thread_index_in_simdgroup, simdgroup_index_in_threadgroup;
  uint threads_per_simdgroup, simdgroups_per_threadgroup;
};

inline uint3 position_of(arg_kind k, const thread_position& t) {
  switch (k) {
    case arg_kind::thread_position_in_grid:
      return t.thread_position_in_grid;
    case arg_kind::threadgroup_position_in_grid:
      return t.threadgroup_position_in_grid;
    case arg_kind::thread_position_in_threadgroup:
      return t.thread_position_in_threadgroup;
    case arg_kind::threads_per_threadgroup:
      return t.threads_per_threadgroup;
    case arg_kind::threadgroups_per_grid:
      return t.threadgroups_per_grid;
    case arg_kind::threads_per_grid:
      return t.threads_per_grid;
    case arg_kind::thread_index_in_threadgroup:
      return uint3(t.thread_index_in_threadgroup);
    case arg_kind::thread_index_in_simdgroup:
      return uint3(t.thread_index_in_simdgroup);
    case arg_kind::simdgroup_index_in_threadgroup:
      return uint3(t.simdgroup_index_in_threadgroup);
    case arg_kind::threads_per_simdgroup:
      return uint3(t.threads_per_simdgroup);
    case arg_kind::simdgroups_per_threadgroup:
      return uint3(t.simdgroups_per_threadgroup);
    case arg_kind::buffer:
      break;
  }
  return uint3(0u);
}

/// Binds one kernel parameter of type P from its attribute.
template <class P>
inline P make_arg(const arg_attr& a, void* const* buffers, const thread_position& t) {
  if constexpr (std::is_pointer_v<P>) {
    return static_cast<P>(buffers[a.index]);
  } else if constexpr (std::is_reference_v<P>) {
    return *static_cast<std::remove_reference_t<P>*>(buffers[a.index]);
  } else {
    const uint3 v = position_of(a.kind, t);
    if constexpr (std::is_same_v<P, uint3>) {
      return v;
    } else if constexpr (std::is_same_v<P, uint2>) {
      return v.xy;
    } else {
      static_assert(std::is_same_v<P, uint> || std::is_same_v<P, ushort>,
                    "position parameters: uint, ushort, uint2, uint3");
      return static_cast<P>(v.x);
    }
  }
}

using kernel_thunk = std::function<void(void* const* buffers, const thread_position&)>;
void register_kernel(const char* name, kernel_thunk run, const arg_attr* attrs, std::size_t n_attrs);

/// A static registrar per [[host_name]] instantiation (emitted by the translator).
struct registrar {
  template <class... P, std::size_t N>
  registrar(const char* name, void (*fn)(P...), const arg_attr (&attrs)[N]) {
    static_assert(N == sizeof...(P), "translator: one attribute per kernel parameter");
    register_kernel(
        name,
        [fn, &attrs](void* const* buffers, const thread_position& t) {
          call(fn, attrs, buffers, t, std::index_sequence_for<P...>{});
        },
        attrs, N);
  }
  template <class... P, std::size_t... I>
  static void call(void (*fn)(P...), const arg_attr* attrs, void* const* buffers, const thread_position& t,
                   std::index_sequence<I...>) {
    fn(make_arg<P>(attrs[I], buffers, t)...);
  }
};

// ---- scheduler hooks (runtime.cpp) ----
/// One lane's part of a simd operation.
struct simd_slot {
  alignas(16) unsigned char in[16];
  alignas(16) unsigned char out[16];
  int source;  // lane to read for shuffles/broadcasts; -1 = own value
};
/// Combines a simdgroup's slots (null for lanes that do not exist).
using simd_combine = void (*)(simd_slot* const* lanes, unsigned width);
simd_slot& simd_slot_of_current();
unsigned current_lane();
unsigned current_simd_width();
void simd_wait(simd_combine fn);  // yields until the whole simdgroup reached an op
void barrier_wait();              // yields until the whole threadgroup reached a barrier
void* tg_alloc(int id, std::size_t bytes, std::size_t align);

template <class A, int Id>
inline A& tg_array() {
  return *static_cast<A*>(tg_alloc(Id, sizeof(A), alignof(A)));
}

template <class T>
inline T load(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <class T>
inline void store(unsigned char* p, const T& v) {
  std::memcpy(p, &v, sizeof(T));
}

template <class T, class Op>
inline void combine_reduce(simd_slot* const* lanes, unsigned width) {
  bool first = true;
  T acc{};
  for (unsigned l = 0; l < width; ++l) {  // lane order: deterministic, unlike hardware trees
    if (!lanes[l]) continue;
    acc = first ? load<T>(lanes[l]->in) : Op{}(acc, load<T>(lanes[l]->in));
    first = false;
  }
  for (unsigned l = 0; l < width; ++l)
    if (lanes[l]) store(lanes[l]->out, acc);
}
template <class T>
inline void combine_pick(simd_slot* const* lanes, unsigned width) {
  for (unsigned l = 0; l < width; ++l) {
    if (!lanes[l]) continue;
    const int s = lanes[l]->source;
    const bool ok = s >= 0 && static_cast<unsigned>(s) < width && lanes[s];
    store(lanes[l]->out, load<T>(ok ? lanes[s]->in : lanes[l]->in));
  }
}
inline void combine_none(simd_slot* const*, unsigned) {}

struct plus {
  template <class T>
  T operator()(T a, T b) const {
    return a + b;
  }
};
struct take_min {
  template <class T>
  T operator()(T a, T b) const {
    return b < a ? b : a;
  }
};
struct take_max {
  template <class T>
  T operator()(T a, T b) const {
    return a < b ? b : a;
  }
};

template <class T>
inline T simd_op(T v, simd_combine fn, int source) {
  static_assert(sizeof(T) <= 16 && std::is_trivially_copyable_v<T>, "simd op on a type over 16 bytes");
  simd_slot& s = simd_slot_of_current();
  store(s.in, v);
  s.source = source;
  simd_wait(fn);
  return load<T>(s.out);
}

}  // namespace emu

inline void threadgroup_barrier(mem_flags) { emu::barrier_wait(); }
inline void simdgroup_barrier(mem_flags) { emu::simd_wait(&emu::combine_none); }

template <class T>
inline T simd_sum(T v) {
  return emu::simd_op(v, &emu::combine_reduce<T, emu::plus>, -1);
}
template <class T>
inline T simd_min(T v) {
  return emu::simd_op(v, &emu::combine_reduce<T, emu::take_min>, -1);
}
template <class T>
inline T simd_max(T v) {
  return emu::simd_op(v, &emu::combine_reduce<T, emu::take_max>, -1);
}
template <class T>
inline T simd_shuffle(T v, ushort lane) {
  return emu::simd_op(v, &emu::combine_pick<T>, int(lane));
}
template <class T>
inline T simd_broadcast(T v, ushort lane) {
  return emu::simd_op(v, &emu::combine_pick<T>, int(lane));
}
template <class T>
inline T simd_shuffle_down(T v, ushort delta) {
  const unsigned src = emu::current_lane() + delta;  // lanes past the end keep their value
  return emu::simd_op(v, &emu::combine_pick<T>, src < emu::current_simd_width() ? int(src) : -1);
}
template <class T>
inline T simd_shuffle_up(T v, ushort delta) {
  const int src = int(emu::current_lane()) - int(delta);
  return emu::simd_op(v, &emu::combine_pick<T>, src);
}
template <class T>
inline T simd_shuffle_xor(T v, ushort mask) {
  return emu::simd_op(v, &emu::combine_pick<T>, int(emu::current_lane() ^ mask));
}

}  // namespace metal

#define LOWBIT_EMU_CAT2(a, b) a##b
#define LOWBIT_EMU_CAT(a, b) LOWBIT_EMU_CAT2(a, b)
#ifndef LOWBIT_EMU_NAME_PREFIX
#define LOWBIT_EMU_NAME_PREFIX ""
#endif
// `template [[host_name(NAME)]] [[kernel]] decltype(FN<A...>) FN<A...>;` becomes this.
#define LOWBIT_EMU_KERNEL(NAME, FN, ...)                                             \
  static const ::metal::emu::registrar LOWBIT_EMU_CAT(lowbit_emu_reg_, __COUNTER__){ \
      LOWBIT_EMU_NAME_PREFIX NAME, &FN<__VA_ARGS__>, FN##_lowbit_attrs};
// A non-template kernel registers under its own name.
#define LOWBIT_EMU_PLAIN_KERNEL(FN)                                                  \
  static const ::metal::emu::registrar LOWBIT_EMU_CAT(lowbit_emu_reg_, __COUNTER__){ \
      LOWBIT_EMU_NAME_PREFIX #FN, &FN, FN##_lowbit_attrs};

#ifndef LOWBIT_EMU_NO_KEYWORDS
#define device
#define constant const
#define thread
#define threadgroup
#define kernel
#endif
