// How the dequantize kernels write their output.
#pragma once

#include <cstddef>

namespace lowbit {

/// cached: plain stores; the output stays in cache for a consumer that reads it next.
/// streaming: non-temporal stores where the CPU has them (x86; plain stores elsewhere):
///   each output line goes to memory without being read first and without evicting the
///   cache. Plain stores read every line they overwrite (read-for-ownership), so a 4-bit ->
///   f16 dequantize moves 4.5 bytes per weight instead of 2.5. lowbit-bench, 14336 x 4096,
///   Ice Lake Xeon, two runs: 1 thread 8.5 / 8.0 GB/s plain -> 12.8 / 9.5 streaming, 2 threads
///   15.3 / 12.1 -> 20.2 / 17.1 (bench/README.md, session 10).
/// automatic: streaming when the output is at least stream_threshold_bytes, which no
///   last-level cache holds for long anyway; cached below.
enum class stores { automatic, cached, streaming };

inline constexpr std::size_t stream_threshold_bytes = std::size_t{16} << 20;

/// Whether a dequantize writing `out_bytes` streams under policy s.
constexpr bool streams(stores s, std::size_t out_bytes) noexcept {
  return s == stores::streaming || (s == stores::automatic && out_bytes >= stream_threshold_bytes);
}

}  // namespace lowbit
