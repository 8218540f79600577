// Non-temporal copy: the one store primitive the ops layer's backends do not
// cover (xsimd 8.1 has no streaming store). A copy rather than a vector op, so
// every kernel and backend streams its output the same way: a kernel writes a
// row into a cache-resident staging buffer, then streams it out
// (kernels/row_output.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <emmintrin.h>  // SSE2 only: <immintrin.h> here, ahead of Highway's guarded
                        // inclusion, made GCC 12 warn inside its AVX-512 headers (-Werror)
#define LOWBIT_HAS_STREAM_STORES 1
#else
#define LOWBIT_HAS_STREAM_STORES 0
#endif

namespace lowbit::simd {

#if LOWBIT_HAS_STREAM_STORES
namespace stream_impl {

using stream_lines_fn = void (*)(unsigned char* d, const unsigned char* s, std::size_t lines);

// One line per iteration, as wide as the CPU stores. Dequantize 4-bit -> f16, 14336 x 4096
// rows staged then streamed, Ice Lake Xeon (scratch program): with four 16-byte movntdq per
// line 6.9 GB/s at 1 thread, below plain stores' 9.2; with one 64-byte store per line
// 9.1-11.7 (2 threads 20-22 against plain 17): the kernel's own loads wait while
// write-combining buffers fill 16 bytes at a time. The wide stores go through the compilers'
// builtins (what _mm512_stream_si512 and _mm256_stream_si256 expand to): no AVX header.
using line64 = long long __attribute__((vector_size(64)));
using line32 = long long __attribute__((vector_size(32)));
__attribute__((target("avx512f"))) inline void stream_lines_avx512(unsigned char* d, const unsigned char* s,
                                                                   std::size_t lines) {
  for (; lines > 0; --lines, d += 64, s += 64) {
    line64 v;
    std::memcpy(&v, s, 64);
#if defined(__clang__)
    __builtin_nontemporal_store(v, reinterpret_cast<line64*>(d));
#else
    __builtin_ia32_movntdq512(reinterpret_cast<line64*>(d), v);
#endif
  }
}
__attribute__((target("avx"))) inline void stream_lines_avx(unsigned char* d, const unsigned char* s,
                                                            std::size_t lines) {
  for (; lines > 0; --lines, d += 64, s += 64) {
    line32 a, b;
    std::memcpy(&a, s, 32);
    std::memcpy(&b, s + 32, 32);
#if defined(__clang__)
    __builtin_nontemporal_store(a, reinterpret_cast<line32*>(d));
    __builtin_nontemporal_store(b, reinterpret_cast<line32*>(d + 32));
#else
    __builtin_ia32_movntdq256(reinterpret_cast<line32*>(d), a);
    __builtin_ia32_movntdq256(reinterpret_cast<line32*>(d + 32), b);
#endif
  }
}
inline void stream_lines_sse2(unsigned char* d, const unsigned char* s, std::size_t lines) {
  for (; lines > 0; --lines, d += 64, s += 64)
    for (int i = 0; i < 64; i += 16)
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + i),
                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
}

/// The widest line streamer this CPU runs (cpuid and the OS's saved register state,
/// through the compiler's __builtin_cpu_supports), chosen once.
inline stream_lines_fn stream_lines() noexcept {
  static const stream_lines_fn fn = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return &stream_lines_avx512;
    if (__builtin_cpu_supports("avx")) return &stream_lines_avx;
    return &stream_lines_sse2;
  }();
  return fn;
}

}  // namespace stream_impl
#endif

/// dst[0, n) = src[0, n): the whole 64-byte lines of dst with non-temporal stores, the
/// partial lines at either end (and everything on CPUs without such stores) with memcpy.
/// Call stream_fence() before another thread reads dst.
inline void stream_copy(void* dst, const void* src, std::size_t n) noexcept {
#if LOWBIT_HAS_STREAM_STORES
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  const std::size_t head = (64 - reinterpret_cast<std::uintptr_t>(d) % 64) % 64;
  if (n < head + 64) {
    std::memcpy(d, s, n);
    return;
  }
  std::memcpy(d, s, head);
  d += head, s += head, n -= head;
  stream_impl::stream_lines()(d, s, n / 64);
  std::memcpy(d + n / 64 * 64, s + n / 64 * 64, n % 64);
#else
  std::memcpy(dst, src, n);
#endif
}

/// Orders the calling thread's stream_copy stores before its later stores (sfence):
/// a task ends with it, so the executor's completion signal publishes the output.
inline void stream_fence() noexcept {
#if LOWBIT_HAS_STREAM_STORES
  _mm_sfence();
#endif
}

}  // namespace lowbit::simd
