// Streaming (non-temporal) dequantize output (core/stores.hpp, kernels/row_output.hpp,
// simd/stream_copy.hpp): the same bits as the plain stores and the reference on every
// backend, format and output dtype, into outputs that start off a 64-byte line,
// with guard elements on both sides that must stay untouched; 1-3 threads; and the copy
// primitive itself against memcpy for every head/tail split.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "kernel_test_util.hpp"
#include "lowbit/core/thread_pool.hpp"
#include "lowbit/kernels/cpu.hpp"
#include "lowbit/lowbit.hpp"
#include "lowbit/simd/stream_copy.hpp"
#include "lut_fixture.hpp"

using namespace lowbit;

namespace {

constexpr backend all_backends[] = {backend::scalar, backend::xsimd, backend::highway};
constexpr std::size_t guard = 24;  // elements each side of the output

/// Runs dq(out) into a buffer whose output starts `offset` elements past the guard
/// (0x5a bytes on both sides); returns the output, or fails on a touched guard.
template <class Out, class Dq>
std::vector<Out> into_offset_output(std::size_t n, std::size_t offset, Dq&& dq) {
  std::vector<Out> buf(offset + n + 2 * guard);
  std::memset(static_cast<void*>(buf.data()), 0x5a, buf.size() * sizeof(Out));
  dq(buf.data() + guard + offset);
  std::vector<Out> out(n);
  std::memcpy(static_cast<void*>(out.data()), buf.data() + guard + offset, n * sizeof(Out));
  std::size_t touched = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(buf.data());
  const std::size_t before = (guard + offset) * sizeof(Out), after = before + n * sizeof(Out);
  for (std::size_t i = 0; i < buf.size() * sizeof(Out); ++i)
    if ((i < before || i >= after) && bytes[i] != 0x5a) ++touched;
  CHECK(touched == 0);
  return out;
}

template <class Out>
std::size_t differing(const std::vector<Out>& a, const std::vector<Out>& b) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(Out)) != 0) ++bad;
  return bad;
}

template <class Out, class S>
void check_streaming(const qmatrix<S>& w, backend b, const executor& ex) {
  const std::size_t n = w.rows * w.cols;
  std::vector<Out> ref(n);
  reference::dequantize(w, ref.data());
  for (std::size_t offset : {0u, 1u, 3u}) {
    INFO(to_string(b) << " b" << w.format.bits << " mode " << static_cast<int>(w.format.mode) << " " << w.rows
                      << "x" << w.cols << " Out=" << sizeof(Out) << "B offset " << offset);
    const auto streamed = into_offset_output<Out>(
        n, offset, [&](Out* o) { kernels::dequantize(w, o, ex, b, stores::streaming); });
    const auto cached =
        into_offset_output<Out>(n, offset, [&](Out* o) { kernels::dequantize(w, o, ex, b, stores::cached); });
    CHECK(differing(ref, streamed) == 0);
    CHECK(differing(ref, cached) == 0);
  }
}

template <class S>
void check_format(quant_format f, std::size_t rows, std::size_t cols, const executor& ex) {
  const auto q =
      kernel_test::make<S>(f, 1, rows, cols, static_cast<unsigned>(f.bits * 131 + static_cast<int>(cols)));
  for (backend b : all_backends) {
    check_streaming<f16>(q.w, b, ex);
    check_streaming<bf16>(q.w, b, ex);
    check_streaming<float>(q.w, b, ex);
  }
}

}  // namespace

TEST_CASE("stores policy: automatic streams from the threshold on") {
  CHECK_FALSE(streams(stores::automatic, stream_threshold_bytes - 1));
  CHECK(streams(stores::automatic, stream_threshold_bytes));
  CHECK(streams(stores::streaming, 1));
  CHECK_FALSE(streams(stores::cached, stream_threshold_bytes * 4));
}

TEST_CASE("stream_copy: every size and alignment split against memcpy") {
  std::vector<unsigned char> src(400), dst(400 + 64);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<unsigned char>(i * 7 + 1);
  for (std::size_t off = 0; off < 20; ++off)
    for (std::size_t n = 0; n < 300; ++n) {
      std::fill(dst.begin(), dst.end(), 0xee);
      simd::stream_copy(dst.data() + off, src.data() + (n % 5), n);
      simd::stream_fence();
      std::size_t bad = 0;
      for (std::size_t i = 0; i < dst.size(); ++i) {
        const bool inside = i >= off && i < off + n;
        if (dst[i] != (inside ? src[i - off + n % 5] : 0xee)) ++bad;
      }
      INFO("offset " << off << " n " << n);
      CHECK(bad == 0);
    }
}

#if LOWBIT_HAS_STREAM_STORES
TEST_CASE("stream_copy: every line streamer this CPU runs, not only the one dispatch picks") {
  using namespace simd::stream_impl;
  std::vector<std::pair<const char*, stream_lines_fn>> fns = {{"sse2", &stream_lines_sse2}};
  if (__builtin_cpu_supports("avx")) fns.emplace_back("avx", &stream_lines_avx);
  if (__builtin_cpu_supports("avx512f")) fns.emplace_back("avx512f", &stream_lines_avx512);
  alignas(64) unsigned char src[64 * 9 + 1], dst[64 * 10];
  for (std::size_t i = 0; i < sizeof src; ++i) src[i] = static_cast<unsigned char>(i * 13 + 5);
  for (const auto& [name, fn] : fns) {
    INFO(name);
    std::memset(dst, 0xee, sizeof dst);
    fn(dst, src + 1, 9);  // unaligned source, aligned destination, as stream_copy calls it
    simd::stream_fence();
    CHECK(std::memcmp(dst, src + 1, 64 * 9) == 0);
    std::size_t touched = 0;
    for (std::size_t i = 64 * 9; i < sizeof dst; ++i) touched += dst[i] != 0xee;
    CHECK(touched == 0);
  }
}
#endif

TEST_CASE("streaming dequantize: affine (table and arithmetic kernels) and fp modes, bit-exact") {
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    check_format<f16>({quant_mode::affine, bits, 64}, 9, 256, {});
    check_format<bf16>({quant_mode::affine, bits, 32}, 5, 32, {});  // 64-byte f16 rows: mostly memcpy
  }
  check_format<float>({quant_mode::affine, 4, 128}, 7, 384, {});
  check_format<std::uint8_t>({quant_mode::mxfp4, 4, 32}, 6, 128, {});
  check_format<std::uint8_t>({quant_mode::mxfp8, 8, 32}, 6, 96, {});
  check_format<std::uint8_t>({quant_mode::nvfp4, 4, 16}, 6, 160, {});
}

TEST_CASE("streaming dequantize: 2 and 3 threads, rows not a multiple of the split") {
  for (std::size_t t : {2u, 3u}) {
    thread_pool pool(t);
    check_format<f16>({quant_mode::affine, 4, 64}, 101, 512, pool.get());
    check_format<f16>({quant_mode::affine, 6, 64}, 70, 192, pool.get());
  }
}

TEST_CASE("streaming dequantize: LUT matrices, bit-exact with the plain stores") {
  for (int bits : {2, 4, 6}) {
    const lut_test::fixture<f16> fx(2, 24, 96, lut_format{bits, 8}, lut_channel_scale::output_rows,
                                    static_cast<unsigned>(bits));
    const std::size_t n = 2 * 24 * 96;
    std::vector<float> ref(n);
    std::vector<f16> ref_h(n);
    reference::dequantize(fx.view(), ref.data());
    reference::dequantize(fx.view(), ref_h.data());
    for (backend b : all_backends)
      for (std::size_t offset : {0u, 1u}) {
        INFO("LUT b" << bits << " " << to_string(b) << " offset " << offset);
        const auto streamed = into_offset_output<float>(
            n, offset, [&](float* o) { dequantize(fx.view(), o, {}, b, stores::streaming); });
        CHECK(differing(ref, streamed) == 0);
        const auto half = into_offset_output<f16>(
            n, offset, [&](f16* o) { dequantize(fx.view(), o, {}, b, stores::streaming); });
        CHECK(differing(ref_h, half) == 0);
      }
  }
}
