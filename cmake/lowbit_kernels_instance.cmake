# lowbit_kernels_instance(NAME [DEFINITIONS def...] [OBJECTS obj...]): a static library holding the
# dispatched CPU kernels compiled once (include/lowbit/kernels/instantiate.hpp), for lowbit's own
# tests, benchmarks and tools. Linking it puts LOWBIT_SEPARATE_KERNELS on the consumer, whose
# translation units then only declare the kernels: each of them had compiled every Highway target
# again (1-2 min per file at -O2), the bulk of CI's build time. Consumers of the installed,
# header-only lowbit are not affected (tests/consumer builds them that way).
# DEFINITIONS apply to the instance TU only (e.g. LOWBIT_XSIMD_MULTIARCH); OBJECTS are linked in
# after it (so its baseline-ISA inline helpers are the ones the linker keeps).
function(lowbit_kernels_instance name)
  cmake_parse_arguments(arg "" "" "DEFINITIONS;OBJECTS" ${ARGN})
  add_library(${name} STATIC ${lowbit_SOURCE_DIR}/cmake/kernels_instance.cpp ${arg_OBJECTS})
  target_compile_definitions(${name} PUBLIC LOWBIT_SEPARATE_KERNELS PRIVATE ${arg_DEFINITIONS})
  target_link_libraries(${name} PUBLIC lowbit::lowbit)
  lowbit_own_target(${name})
endfunction()
