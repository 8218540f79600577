# vcpkg port of lowbit (header-only C++20). Installs through lowbit's own CMake install
# (the one tests/consumer/run.sh checks), then moves the config to share/lowbit.

vcpkg_from_github(
    OUT_SOURCE_PATH SOURCE_PATH
    REPO lowbit/lowbit  # placeholder until the repository is public
    REF "v${VERSION}"
    SHA512 0  # placeholder: `vcpkg install` prints the real hash of the release tarball
    HEAD_REF main
)

# Header-only: a single (release) configuration, nothing to compile.
set(VCPKG_BUILD_TYPE release)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        -DLOWBIT_BUILD_TESTS=OFF
        -DLOWBIT_BUILD_BENCH=OFF
        -DLOWBIT_BUILD_EXAMPLES=OFF
        -DLOWBIT_INSTALL=ON
        # lowbit::io (nlohmann_json) is not part of this port: don't pick it up by accident.
        -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON
)
vcpkg_cmake_install()

# lowbit installs its config to share/cmake/lowbit (arch-independent); vcpkg wants share/lowbit.
vcpkg_cmake_config_fixup(CONFIG_PATH share/cmake/lowbit)
vcpkg_fixup_pkgconfig()

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug" "${CURRENT_PACKAGES_DIR}/lib")

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
