// How the matmul kernels (qmv, qmm, gather_qmv, gather_qmm) compute.
#pragma once

namespace lowbit {

/// exact: the DESIGN §3 contract: the weights exactly as dequantize makes them
///   (MLX's rounding to the scales dtype), float32 accumulation; matches a float64
///   reference within 1e-5 of sum|w*x|.
/// int8: opt-in, for speed (ggml's q8 recipe): each activation row is quantized per
///   weight group g to int8, dx_g = max|x in g| / 127, xq = round(x / dx_g) (0 in a group whose
///   max|x| < 2^-100, the same for LUT tables below); codes times
///   xq are integer dot products (VNNI where the CPU has it), scaled by scale_g * dx_g;
///   the bias enters as bias_g * sum(x in g) with the float x. Affine formats and LUTs
///   (mxfp4/mxfp8/nvfp4 run exact), and only shapes whose groups fit the SIMD span
///   (otherwise exact; see kernels/int8-inl.hpp). Error per output, against the exact mode's
///   float64 reference y_ref = sum_k w_k x_k with w_k = dequantize's weight:
///     |y - y_ref| <= sum_k ( |scale_g * q_k| * dx_g / 2 + |w_k - (scale_g * q_k + bias_g)| * |x_k| )
///                    + float32 accumulation error,
///   the first term from rounding x, the second from using the unrounded weight
///   (at most half an f16/bf16 ulp of scale*q plus half an ulp of w; 0 for f32 scales).
///   LUT (palettized) matrices, 2- and 4-bit indices (3-bit on AVX-512 VBMI targets): each
///   table is quantized to int8 per call, ls = max|L| / 127, Lq = round(L / ls), and each activation row
///   (times the column scales, if any) per block of 32, dx_b = max|x in b| / 127; per output row with row
///   scale rs (1 if none), against y_ref = sum_k rs * L[idx_k] * x_k:
///     |y - y_ref| <= |rs| * sum_k ( (|L[idx_k]| + ls/2) * dx_b / 2 + ls/2 * |x_k| )
///                    + float32 accumulation error
///   (kernels/lut_int8-inl.hpp). Other widths and shapes whose rows are not whole SIMD
///   spans (or not whole 32-blocks) run exact.
enum class numerics { exact, int8 };

}  // namespace lowbit
