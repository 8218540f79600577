// The test-side host of the Metal emulation: loads the clang-built kernel
// library (like newLibraryWithSource), and dispatches a manifest variant the
// way a Metal host would: buffers bound by the manifest's binding indices and
// roles, the argument struct at params_index, the threadgroup size and the
// grid from the manifest. Nothing here is written per kernel.
#pragma once

#include <dlfcn.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "emu_abi.h"
#include "lowbit/core/error.hpp"
#include "lowbit/gpu/metal/manifest.hpp"

namespace lowbit_test::metal_emu {

namespace gpu = lowbit::gpu;

struct launch_options {
  lowbit_emu_order order = LOWBIT_EMU_SHUFFLED;
  std::uint64_t seed = 1;
  std::uint32_t simd_width = gpu::metal::simd_width;
  std::uint32_t workers = 0;  // 0 = all cores
};

class library {
 public:
  explicit library(const char* path) : handle_(dlopen(path, RTLD_NOW | RTLD_LOCAL)) {
    if (!handle_) lowbit::detail::fail("metal emulation: cannot load {}: {}", path, dlerror());
    count_ = reinterpret_cast<int (*)()>(dlsym(handle_, "lowbit_emu_kernel_count"));
    name_ = reinterpret_cast<const char* (*)(int)>(dlsym(handle_, "lowbit_emu_kernel_name"));
    dispatch_ = reinterpret_cast<int (*)(const char*, const lowbit_emu_launch*, char*, std::size_t)>(
        dlsym(handle_, "lowbit_emu_dispatch"));
    if (!count_ || !name_ || !dispatch_)
      lowbit::detail::fail("metal emulation: {} lacks the emu_abi.h entry points", path);
  }
  library(const library&) = delete;
  library& operator=(const library&) = delete;
  ~library() { dlclose(handle_); }

  std::vector<std::string> kernel_names() const {
    std::vector<std::string> names;
    for (int i = 0; i < count_(); ++i) names.emplace_back(name_(i));
    return names;
  }

  /// Runs `name` over `grid` threadgroups of `threadgroup` threads; throws lowbit::error on a fault.
  void dispatch(std::string_view name, const std::vector<void*>& buffers, std::array<std::uint32_t, 3> grid,
                std::array<std::uint32_t, 3> threadgroup, const launch_options& o) const {
    lowbit_emu_launch l{};
    l.buffers = buffers.data();
    l.buffer_count = static_cast<std::uint32_t>(buffers.size());
    std::memcpy(l.grid, grid.data(), sizeof l.grid);
    std::memcpy(l.threadgroup, threadgroup.data(), sizeof l.threadgroup);
    l.simd_width = o.simd_width;
    l.order = o.order;
    l.seed = o.seed;
    l.workers = o.workers;
    char error[512] = {};
    const std::string n(name);
    if (dispatch_(n.c_str(), &l, error, sizeof error) != 0)
      lowbit::detail::fail("metal emulation: {}", error);
  }

 private:
  void* handle_;
  int (*count_)() = nullptr;
  const char* (*name_)(int) = nullptr;
  int (*dispatch_)(const char*, const lowbit_emu_launch*, char*, std::size_t) = nullptr;
};

/// Data for one buffer role of a variant.
struct role_data {
  gpu::buffer_role role;
  const void* data;
};

/// The u32 field `name` of an argument struct described by `fields` (empty name: 1).
inline std::uint64_t field_value(std::span<const gpu::param_field> fields, const void* args,
                                 std::string_view name) {
  if (name.empty()) return 1;
  for (const gpu::param_field& f : fields) {
    if (f.name != name) continue;
    if (f.type != gpu::element::u32) lowbit::detail::fail("grid field {} is not u32", name);
    std::uint32_t v = 0;
    std::memcpy(&v, static_cast<const unsigned char*>(args) + f.offset, sizeof v);
    return v;
  }
  lowbit::detail::fail("grid names field {} that the argument struct lacks", name);
}

/// Threadgroups per grid axis from the manifest's grid rule and the argument struct.
inline std::array<std::uint32_t, 3> grid_for(const gpu::kernel_variant& v, const void* args) {
  std::array<std::uint32_t, 3> g{};
  const auto rule = gpu::metal::grid_of(v.kind);
  for (std::size_t i = 0; i < 3; ++i) {
    const std::uint64_t n = field_value(v.params, args, rule[i].a) * field_value(v.params, args, rule[i].b);
    g[i] = static_cast<std::uint32_t>((n + rule[i].divisor - 1) / rule[i].divisor);
  }
  return g;
}

/// Dispatches variant `v`: every manifest binding gets the data of its role,
/// the argument struct goes to params_index. Throws when a role is missing or
/// the struct size disagrees with the manifest.
template <class Args>
void run_variant(const library& lib, const gpu::kernel_variant& v, std::initializer_list<role_data> data,
                 const Args& args, const launch_options& o = {}) {
  if (sizeof(Args) != v.params_size)
    lowbit::detail::fail("{}: argument struct of {} bytes, manifest says {}", v.name, sizeof(Args),
                         v.params_size);
  std::vector<void*> buffers(gpu::metal::params_index + 1, nullptr);
  for (const gpu::binding& b : v.bindings) {
    const void* p = nullptr;
    for (const role_data& d : data)
      if (d.role == b.role) p = d.data;
    if (!p)
      lowbit::detail::fail("{}: no data for binding {} (role {})", v.name, b.index, static_cast<int>(b.role));
    if (b.index >= buffers.size()) buffers.resize(b.index + 1, nullptr);
    buffers[b.index] = const_cast<void*>(p);  // the kernel's access mode decides; this is a CPU stand-in
  }
  buffers[gpu::metal::params_index] = const_cast<Args*>(&args);
  const auto grid = grid_for(v, &args);
  if (grid[0] * grid[1] * grid[2] == 0) return;
  lib.dispatch(v.entry, buffers, grid, v.workgroup, o);
}

}  // namespace lowbit_test::metal_emu
