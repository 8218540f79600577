// Where a dequantize task writes its rows (core/stores.hpp): straight into the
// output, or, streaming, into a per-thread staging row that stays in cache and
// is then streamed out (simd/stream_copy.hpp). Staging keeps the kernels' own
// stores unchanged (any alignment, any backend) for one extra pass over a row
// that is already in L1/L2.
#pragma once

#include <cstddef>
#include <vector>

#include "lowbit/simd/stream_copy.hpp"

namespace lowbit::kernels {

template <class Out>
class row_output {
 public:
  row_output(void* out, std::size_t cols, bool stream) : out_(static_cast<Out*>(out)), cols_(cols) {
    if (stream && LOWBIT_HAS_STREAM_STORES) {  // elsewhere staging would only add a copy
      thread_local std::vector<Out> stage;     // per thread, reused: no page faults per call
      if (stage.size() < cols) stage.resize(cols);
      stage_ = stage.data();
    }
  }
  row_output(const row_output&) = delete;
  row_output& operator=(const row_output&) = delete;
  ~row_output() {
    if (stage_ != nullptr) simd::stream_fence();
  }

  /// Where the kernel writes row r (cols elements).
  [[nodiscard]] Out* row(std::size_t r) const noexcept {
    return stage_ != nullptr ? stage_ : out_ + r * cols_;
  }
  /// Row r is written: streams it out of the staging row. Per row, in one burst: streaming
  /// every 4 groups (512 bytes) as they were written, interleaved with the kernel's loads,
  /// ran at 0.6-0.7x of per row (4-bit -> f16 14336 x 4096, Ice Lake Xeon, 64-byte stores,
  /// 1 thread 6.6-6.9 vs 9.7-11.8 GB/s, 2 threads 11.6-13.5 vs 21.1-21.7).
  void done(std::size_t r) const noexcept {
    if (stage_ != nullptr) simd::stream_copy(out_ + r * cols_, stage_, cols_ * sizeof(Out));
  }

 private:
  Out* out_;
  std::size_t cols_;
  Out* stage_ = nullptr;
};

}  // namespace lowbit::kernels
