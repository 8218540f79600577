// One xsimd architecture's kernel table, compiled with that architecture's
// -m flags (bench/CMakeLists.txt builds this file once per architecture) so
// the prebuilt bench can pick the best xsimd target at run time.
#include "lowbit/kernels/portable.hpp"

namespace lowbit::kernels {
#if defined(LOWBIT_XSIMD_ARCH_AVX512BW)
kernel_table xsimd_table_avx512bw() { return xsimd_table_for<xsimd::avx512bw>(); }
#elif defined(LOWBIT_XSIMD_ARCH_AVX2)
kernel_table xsimd_table_avx2() { return xsimd_table_for<xsimd::fma3<xsimd::avx2> >(); }
#else
#error "compile with LOWBIT_XSIMD_ARCH_AVX2 or LOWBIT_XSIMD_ARCH_AVX512BW"
#endif
}  // namespace lowbit::kernels
