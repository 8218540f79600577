# Conan 2 recipe for lowbit, a header-only C++20 library, written to the conventions of
# conan-center-index's header-only template (package_type "header-library", one package id
# for every configuration) but packaged through lowbit's own CMake install, the same one
# tests/consumer/run.sh checks. Lives in the repository, so the sources are exported from
# this checkout instead of downloaded:
#   conan create . --build=missing    (test package: tests/consumer/conan, via test_package_folder;
#                                      Conan < 2.3 ignores that attribute: add --test-folder tests/consumer/conan)
import os
import re

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir
from conan.tools.scm import Version

required_conan_version = ">=2.0"


class LowbitConan(ConanFile):
    name = "lowbit"
    description = ("Header-only C++20 kernels for low-bit LLM weights: MLX affine/mxfp4/mxfp8/nvfp4, "
                   "FP8 block and LUT formats, quantize/dequantize/qmv/qmm/MoE gather on CPU SIMD, "
                   "GPU kernels as embedded sources")
    # TODO(lead): must match the repository's LICENSE file (none yet).
    license = "MIT"
    url = "https://github.com/lowbit/lowbit"
    homepage = "https://github.com/lowbit/lowbit"
    topics = ("quantization", "llm", "simd", "mlx", "mxfp4", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    no_copy_source = True
    test_package_folder = "tests/consumer/conan"

    @property
    def _min_cppstd(self):
        return 20

    @property
    def _compilers_minimum_version(self):
        # The oldest compilers lowbit is built and tested with.
        return {"gcc": "12", "clang": "16", "apple-clang": "15"}

    def set_version(self):
        # One source of truth: project(lowbit VERSION x.y.z) in CMakeLists.txt.
        if not self.version:
            cmakelists = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
            self.version = re.search(r"project\(lowbit\s+VERSION\s+([0-9.]+)", cmakelists).group(1)

    def export_sources(self):
        for pattern in ("CMakeLists.txt", "LICENSE*", "cmake/*", "include/*"):
            copy(self, pattern, self.recipe_folder, self.export_sources_folder)

    def layout(self):
        cmake_layout(self, src_folder=".")

    def requirements(self):
        # Used in the public headers, so transitive (the header-library default). Pinned to the
        # versions lowbit is tested against (Debian 12); xsimd/highway APIs change between majors.
        self.requires("fmt/9.1.0")
        self.requires("xsimd/8.1.0")
        self.requires("highway/1.0.3")

    def package_id(self):
        self.info.clear()

    def validate(self):
        check_min_cppstd(self, self._min_cppstd)
        minimum = self._compilers_minimum_version.get(str(self.settings.compiler))
        if minimum and Version(self.settings.compiler.version) < minimum:
            raise ConanInvalidConfiguration(
                f"{self.ref} requires C++{self._min_cppstd}, which {self.settings.compiler} "
                f"{self.settings.compiler.version} does not support well enough (need >= {minimum})")

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["LOWBIT_BUILD_TESTS"] = False
        tc.cache_variables["LOWBIT_BUILD_BENCH"] = False
        tc.cache_variables["LOWBIT_BUILD_EXAMPLES"] = False
        tc.cache_variables["LOWBIT_INSTALL"] = True
        # The optional I/O helper (lowbit::io, nlohmann_json) is not packaged: keep the package
        # the same whatever happens to be installed on the build machine.
        tc.cache_variables["CMAKE_DISABLE_FIND_PACKAGE_nlohmann_json"] = True
        tc.generate()
        deps = CMakeDeps(self)
        # lowbit's CMakeLists says find_package(hwy) / hwy::hwy, Highway's own names;
        # conan-center's highway recipe exports them as highway / highway::hwy.
        deps.set_property("highway", "cmake_file_name", "hwy")
        deps.set_property("highway::hwy", "cmake_target_name", "hwy::hwy")
        deps.generate()

    def build(self):
        # Nothing to compile: configuring generates the install rules and config files.
        cmake = CMake(self)
        cmake.configure()

    def package(self):
        copy(self, "LICENSE*", self.source_folder, os.path.join(self.package_folder, "licenses"))
        cmake = CMake(self)
        cmake.install()
        # Conan generates its own CMake config and pkg-config files from package_info().
        rmdir(self, os.path.join(self.package_folder, "share"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "lowbit")
        self.cpp_info.set_property("cmake_target_name", "lowbit::lowbit")
        self.cpp_info.set_property("pkg_config_name", "lowbit")
        self.cpp_info.requires = ["fmt::fmt", "xsimd::xsimd", "highway::hwy"]
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        if self.settings.os in ["Linux", "FreeBSD"]:
            # The thread pool lowbit ships uses std::thread.
            self.cpp_info.system_libs = ["pthread", "m"]
