# lowbit::io — the optional I/O layer (safetensors, mlx-lm config.json). The only part of lowbit
# that needs nlohmann_json; consumers who do not link it never see that dependency.
find_package(nlohmann_json 3.10 QUIET)
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
