# Install rules: headers, the exported INTERFACE target, package config and pkg-config file.
include(CMakePackageConfigHelpers)
install(DIRECTORY include/lowbit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.metal" PATTERN "*.comp")
install(TARGETS lowbit EXPORT lowbitTargets)
install(EXPORT lowbitTargets NAMESPACE lowbit:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/lowbit)
configure_package_config_file(cmake/lowbitConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/lowbitConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/lowbit)
# Header-only: the config-version file must not reject consumers of another bitness.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/lowbitConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/lowbitConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/lowbitConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/lowbit)
configure_file(cmake/lowbit.pc.in ${CMAKE_CURRENT_BINARY_DIR}/lowbit.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/lowbit.pc DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)
