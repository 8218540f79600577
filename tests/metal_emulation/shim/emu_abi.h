/* The C interface between the emulated Metal kernels (a shared library built
 * with clang-16 from the embedded MSL) and the test harness (built with the
 * project compiler). Plain C so the two compilers agree on it. */
#ifndef LOWBIT_METAL_EMU_ABI_H
#define LOWBIT_METAL_EMU_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The order in which the scheduler runs the threads of a threadgroup between
 * two synchronisation points. A correct kernel gives the same bits in every
 * order; a missing barrier shows up as a difference (or poison). */
enum lowbit_emu_order { LOWBIT_EMU_FORWARD = 0, LOWBIT_EMU_REVERSE = 1, LOWBIT_EMU_SHUFFLED = 2 };

struct lowbit_emu_launch {
  void* const* buffers; /* by [[buffer(n)]] index; null = unbound */
  uint32_t buffer_count;
  uint32_t grid[3];        /* threadgroups per grid */
  uint32_t threadgroup[3]; /* threads per threadgroup */
  uint32_t simd_width;     /* threads per simdgroup (Apple: 32) */
  uint32_t order;          /* enum lowbit_emu_order */
  uint64_t seed;           /* for LOWBIT_EMU_SHUFFLED */
  uint32_t workers;        /* OS threads running threadgroups; 0 = hardware concurrency */
};

/* Kernels registered by the library (one per [[host_name]] or plain kernel). */
int lowbit_emu_kernel_count(void);
const char* lowbit_emu_kernel_name(int index);
/* Runs a kernel to completion. Returns 0, or non-zero with a message in
 * `error` (unknown kernel, unbound buffer, deadlock, divergent barrier or
 * simd operation, too much threadgroup memory, bad launch). */
int lowbit_emu_dispatch(const char* name, const struct lowbit_emu_launch* launch, char* error,
                        size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* LOWBIT_METAL_EMU_ABI_H */
