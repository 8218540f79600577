// The public kernel entry points of DESIGN.md §3. They validate their
// arguments (throwing lowbit::error) and run the dispatched SIMD kernels
// (kernels/cpu.hpp: Highway with run-time target choice by default; an
// optional executor runs them on a thread pool, an optional backend pins
// scalar / xsimd / highway; LOWBIT_BACKEND does the same per process).
// Defining LOWBIT_REFERENCE_KERNELS before the first include makes them run
// the scalar reference instead (it also spares the SIMD kernels' compile time,
// about a minute per translation unit at -O2). numerics::int8 opts the matmuls
// into int8 activations (core/numerics.hpp: error bound); the reference is exact.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lowbit/core/executor.hpp"
#include "lowbit/core/numerics.hpp"
#include "lowbit/core/stores.hpp"
#include "lowbit/kernels/reference.hpp"
#include "lowbit/simd/backend.hpp"
#ifndef LOWBIT_REFERENCE_KERNELS
#include "lowbit/kernels/cpu.hpp"
#endif

namespace lowbit {

/// out[experts*rows*cols] = dequantized W (Out = float, f16 or bf16). Bit-exact
/// with MLX when Out is the scales dtype (affine) or for any Out (fp modes).
/// `st` chooses plain or non-temporal stores (core/stores.hpp); the values are the same.
template <class S, class Out>
void dequantize(const qmatrix<S>& w, Out* out, const executor& ex = {}, backend b = backend::automatic,
                stores st = stores::automatic) {
#ifdef LOWBIT_REFERENCE_KERNELS
  (void)ex, (void)b, (void)st;
  reference::dequantize(w, out);
#else
  kernels::dequantize(w, out, ex, b, st);
#endif
}

/// y[rows] = W x (experts == 1).
template <class S, class X, class Y>
void qmv(const qmatrix<S>& w, const X* x, Y* y, const executor& ex = {}, backend b = backend::automatic,
         numerics nm = numerics::exact) {
#ifdef LOWBIT_REFERENCE_KERNELS
  (void)ex, (void)b, (void)nm;
  reference::qmv(w, x, y);
#else
  kernels::qmv(w, x, y, ex, b, nm);
#endif
}

/// y[m][rows] = x[m][cols] W^T (experts == 1).
template <class S, class X, class Y>
void qmm(const qmatrix<S>& w, const X* x, std::size_t m, Y* y, const executor& ex = {},
         backend b = backend::automatic, numerics nm = numerics::exact) {
#ifdef LOWBIT_REFERENCE_KERNELS
  (void)ex, (void)b, (void)nm;
  reference::qmm(w, x, m, y);
#else
  kernels::qmm(w, x, m, y, ex, b, nm);
#endif
}

/// MoE: y[t][j][:] = W[ids[t*top_k + j]] x[t][:], one token at a time.
template <class S, class X, class Y>
void gather_qmv(const qmatrix<S>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y, const executor& ex = {}, backend b = backend::automatic,
                numerics nm = numerics::exact) {
#ifdef LOWBIT_REFERENCE_KERNELS
  (void)ex, (void)b, (void)nm;
  reference::gather_qmv(w, x, tokens, ids, top_k, y);
#else
  kernels::gather_qmv(w, x, tokens, ids, top_k, y, ex, b, nm);
#endif
}

/// MoE, same result as gather_qmv; groups tokens by expert.
template <class S, class X, class Y>
void gather_qmm(const qmatrix<S>& w, const X* x, std::size_t tokens, const std::uint32_t* ids,
                std::size_t top_k, Y* y, const executor& ex = {}, backend b = backend::automatic,
                numerics nm = numerics::exact) {
#ifdef LOWBIT_REFERENCE_KERNELS
  (void)ex, (void)b, (void)nm;
  reference::gather_qmm(w, x, tokens, ids, top_k, y);
#else
  kernels::gather_qmm(w, x, tokens, ids, top_k, y, ex, b, nm);
#endif
}

/// FP8 block-scaled checkpoints: out = e4m3(w) * scale_inv[i / block_rows, j / block_cols].
template <class S, class Out>
void dequantize_fp8_block(const std::uint8_t* w_e4m3, const S* scale_inv, std::size_t rows, std::size_t cols,
                          Out* out, std::size_t block_rows = 128, std::size_t block_cols = 128) {
  reference::dequantize_fp8_block(w_e4m3, scale_inv, rows, cols, out, block_rows, block_cols);
}

}  // namespace lowbit
