// Kernels that are WRONG on purpose (or exercise the emulated simd ops), to
// prove the emulation reports what real hardware would hang or corrupt on.
#include <metal_stdlib>
using namespace metal;

// A barrier that only part of the threadgroup reaches while the rest waits
// in a simd reduction: hangs a real GPU.
kernel void divergent_barrier(device float* out [[buffer(0)]], uint tid [[thread_index_in_threadgroup]]) {
  float v = 1.0f;
  if (tid < 16u) threadgroup_barrier(mem_flags::mem_threadgroup);
  v = simd_sum(v);
  out[tid] = v;
}

// A simd reduction inside a lane-dependent branch.
kernel void divergent_simd(device float* out [[buffer(0)]], uint lane [[thread_index_in_simdgroup]]) {
  float v = 1.0f;
  if (lane < 8u) v = simd_sum(v);
  out[lane] = v;
}

// A barrier after an early return of some threads.
kernel void barrier_after_return(device float* out [[buffer(0)]], uint tid [[thread_index_in_threadgroup]]) {
  if (tid == 3u) return;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[tid] = 2.0f;
}

// Correct use of the simd operations, checked at several simd widths.
kernel void simd_ops(const device float* in [[buffer(0)]], device float* out [[buffer(1)]],
                     uint tid [[thread_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]],
                     uint width [[threads_per_simdgroup]]) {
  const float v = in[tid];
  out[tid * 6u + 0u] = simd_sum(v);
  out[tid * 6u + 1u] = simd_max(v);
  out[tid * 6u + 2u] = simd_shuffle_down(v, ushort(1));
  out[tid * 6u + 3u] = simd_shuffle_xor(v, ushort(width / 2u));
  out[tid * 6u + 4u] = simd_broadcast(v, ushort(width - 1u));
  out[tid * 6u + 5u] = float(lane);
}

// Threadgroup memory exchange with a barrier: each thread reads its neighbour.
kernel void neighbour(device float* out [[buffer(0)]], uint tid [[thread_index_in_threadgroup]],
                      uint n [[threads_per_threadgroup]]) {
  threadgroup float shared[256];
  shared[tid] = float(tid);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[tid] = shared[(tid + 1u) % n];
}

// Too much threadgroup memory for Apple GPUs (32 KiB).
kernel void too_much_tg_memory(device float* out [[buffer(0)]], uint tid [[thread_index_in_threadgroup]]) {
  threadgroup float big[9000];
  big[tid] = 1.0f;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[tid] = big[0];
}
