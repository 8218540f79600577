# lowbit::io — the optional I/O layer (safetensors, mlx-lm config.json). The only part of lowbit
# that needs nlohmann_json; consumers who do not link it never see that dependency.
find_package(nlohmann_json 3.10 QUIET)
# Debian's xsimd exports INTERFACE_LINK_LIBRARIES "xtl" without finding it, so executables get a
# bare -lxtl unless an xtl target exists. TODO(lead): move this next to find_package(xsimd).
if(NOT TARGET xtl)
  find_package(xtl QUIET)
  if(NOT TARGET xtl)
    add_library(xtl INTERFACE IMPORTED)  # header-only and unused by lowbit: an empty stand-in
  endif()
endif()
if(nlohmann_json_FOUND)
  add_library(lowbit_io INTERFACE)
  add_library(lowbit::io ALIAS lowbit_io)
  set_target_properties(lowbit_io PROPERTIES EXPORT_NAME io)
  target_link_libraries(lowbit_io INTERFACE lowbit nlohmann_json::nlohmann_json)
  # Installed and exported by lowbit_install.cmake (with find_dependency(nlohmann_json)) when
  # this target exists; the headers go with the rest of include/lowbit.
else()
  message(STATUS "lowbit: nlohmann_json not found, lowbit::io (and the tools) disabled")
endif()
