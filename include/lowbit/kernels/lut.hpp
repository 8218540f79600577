// Public LUT (palettized) kernels: lowbit::dequantize / qmv / qmm /
// gather_qmv / gather_qmm overloads for lut_matrix<L> (DESIGN.md §3), plus
// the LUT format helpers (CoreML iOS16/iOS18 forms, ANEMLL sizes). Values
// are defined by kernels/reference/lut.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lowbit/core/executor.hpp"
#include "lowbit/format/lut.hpp"
#include "lowbit/format/lut_anemll.hpp"
#include "lowbit/format/lut_coreml.hpp"
#include "lowbit/kernels/reference/lut.hpp"

namespace lowbit {

/// out[experts*rows*cols] = W (Out = float, f16 or bf16).
template <class L, class Out>
void dequantize(const lut_matrix<L>& w, Out* out) {
  reference::dequantize(w, out);
}

/// y[rows] = W x (experts == 1).
template <class L, class X, class Y>
void qmv(const lut_matrix<L>& w, const X* x, Y* y) {
  reference::qmv(w, x, y);
}

/// y[m][rows] = x[m][cols] W^T (experts == 1).
template <class L, class X, class Y>
void qmm(const lut_matrix<L>& w, const X* x, std::size_t m, Y* y) {
  reference::qmm(w, x, m, y);
}

/// MoE over stacked experts: y[t][j][:] = W[ids[t*top_k + j]] x[t].
template <class L, class X, class Y>
void gather_qmv(const lut_matrix<L>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y) {
  reference::gather_qmv(w, x, tokens, ids, top_k, y);
}

/// Same result as gather_qmv.
template <class L, class X, class Y>
void gather_qmm(const lut_matrix<L>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y) {
  reference::gather_qmm(w, x, tokens, ids, top_k, y);
}

}  // namespace lowbit
