# Install rules: headers, the exported INTERFACE target(s), the package config
# (+ version file) and the pkg-config file.
#
# lowbit is header-only, so everything goes under arch-independent directories:
#   <prefix>/include/lowbit/...                 headers and GPU kernel sources
#   <prefix>/share/cmake/lowbit/                lowbitConfig.cmake, ...Version.cmake, ...Targets.cmake
#   <prefix>/share/pkgconfig/lowbit.pc
# (CMake's find_package and pkg-config both search these by default.)
include(CMakePackageConfigHelpers)

set(LOWBIT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/lowbit"
    CACHE STRING "Where lowbitConfig.cmake is installed (relative to the prefix)")
set(LOWBIT_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_DATADIR}/pkgconfig"
    CACHE STRING "Where lowbit.pc is installed (relative to the prefix)")

install(DIRECTORY ${lowbit_SOURCE_DIR}/include/lowbit
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT lowbit_Development
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h" PATTERN "*.inl"
                       PATTERN "*.metal" PATTERN "*.comp" PATTERN "*.glsl")

# Optional helper targets (lowbit::io, lowbit::vulkan) are defined by their own
# cmake/lowbit_<part>.cmake and installed and exported HERE, together with lowbit (a target may
# appear only once in an export set, so those files must not install their targets themselves).
# Each entry: "target|package [version]" = what the installed config looks for when the target
# exists. The lookup is QUIET, so consumers of lowbit::lowbit alone never need these packages.
# >>> add an entry when you add a helper target.
set(lowbit_helper_targets "lowbit_io|nlohmann_json 3.10" "lowbit_vulkan|Vulkan")
set(lowbit_export_targets lowbit)
set(LOWBIT_CONFIG_EXTRA_DEPENDENCIES "")
foreach(entry IN LISTS lowbit_helper_targets)
  string(REPLACE "|" ";" entry "${entry}")
  list(GET entry 0 tgt)
  list(GET entry 1 pkg)
  if(TARGET ${tgt})
    list(APPEND lowbit_export_targets ${tgt})
    string(APPEND LOWBIT_CONFIG_EXTRA_DEPENDENCIES "find_package(${pkg} QUIET)\n")
  endif()
endforeach()

install(TARGETS ${lowbit_export_targets} EXPORT lowbitTargets COMPONENT lowbit_Development)
install(EXPORT lowbitTargets NAMESPACE lowbit:: DESTINATION ${LOWBIT_INSTALL_CMAKEDIR}
        COMPONENT lowbit_Development)

configure_package_config_file(${lowbit_SOURCE_DIR}/cmake/lowbitConfig.cmake.in
                              ${lowbit_BINARY_DIR}/lowbitConfig.cmake
                              INSTALL_DESTINATION ${LOWBIT_INSTALL_CMAKEDIR})
# Header-only: ARCH_INDEPENDENT so a 32-bit consumer is not rejected by a package
# configured on a 64-bit machine. 0.x releases may break the API between minors;
# SameMinorVersion says so to find_package(lowbit 0.1).
write_basic_package_version_file(${lowbit_BINARY_DIR}/lowbitConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${lowbit_BINARY_DIR}/lowbitConfig.cmake ${lowbit_BINARY_DIR}/lowbitConfigVersion.cmake
        DESTINATION ${LOWBIT_INSTALL_CMAKEDIR} COMPONENT lowbit_Development)

# pkg-config: includedir absolute when the install dir is absolute, else below ${prefix}.
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(LOWBIT_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(LOWBIT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${lowbit_SOURCE_DIR}/cmake/lowbit.pc.in ${lowbit_BINARY_DIR}/lowbit.pc @ONLY)
install(FILES ${lowbit_BINARY_DIR}/lowbit.pc DESTINATION ${LOWBIT_INSTALL_PKGCONFIGDIR}
        COMPONENT lowbit_Development)
