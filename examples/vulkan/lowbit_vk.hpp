// lowbit_vk: a minimal Vulkan compute host for lowbit's embedded GLSL kernels.
// It shows what a runtime does with the manifest: pick a device, check the
// variant's required features, compile the source text to SPIR-V at run time
// (shaderc, linked statically), build a pipeline with the variant's bindings,
// push constants and specialization constants, and dispatch. The tests and
// lowbit-vk-bench use it; it is an example, not part of the header-only core.
#pragma once

#include <vulkan/vulkan.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/gpu/manifest.hpp"
#include "lowbit/gpu/vulkan/manifest.hpp"

namespace lowbit_vk {

using lowbit::gpu::kernel_variant;
using lowbit::gpu::vulkan::push_params;

/// GLSL -> SPIR-V (Vulkan 1.2 target) for a manifest variant; throws
/// lowbit::error with the compiler log on failure.
std::vector<std::uint32_t> compile_glsl(const kernel_variant& v);

/// Validates SPIR-V in-process with SPIRV-Tools (the library behind spirv-val),
/// Vulkan 1.2 rules. Returns the empty string when valid, else the messages.
std::string validate_spirv(const std::vector<std::uint32_t>& spirv);

/// The OpCapability values a SPIR-V module declares.
std::vector<std::uint32_t> spirv_capabilities(const std::vector<std::uint32_t>& spirv);

struct options {
  bool validation = false;  // enable VK_LAYER_KHRONOS_validation and count its messages
  int device_index = -1;    // -1: LOWBIT_VK_DEVICE env, else discrete > integrated > other
};

struct buffer {
  VkBuffer handle = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  std::size_t size = 0;
  void* mapped = nullptr;  // non-null for host-visible buffers
};

struct pipeline {
  const kernel_variant* variant = nullptr;
  VkShaderModule module = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline handle = VK_NULL_HANDLE;
  std::array<std::uint32_t, 3> local_size{1, 1, 1};
};

/// (binding index, buffer) pairs for one dispatch.
using bindings = std::vector<std::pair<std::uint32_t, const buffer*>>;

class context {
 public:
  explicit context(const options& o = {});
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  std::string device_name() const;
  std::uint32_t subgroup_size() const { return subgroup_size_; }
  bool is_cpu() const;
  /// True when the device has every feature bit of `mask` (lowbit::gpu::feature).
  bool supports(std::uint32_t mask) const;
  /// Warnings and errors reported by the validation layer so far.
  std::size_t validation_messages() const;
  std::string last_validation_message() const;

  /// host_visible: mapped, coherent memory (what tests use); otherwise
  /// device-local memory filled through a staging copy.
  buffer make_buffer(std::size_t bytes, bool host_visible = true);
  void destroy(buffer& b);
  void upload(buffer& b, const void* data, std::size_t bytes);
  void download(const buffer& b, void* data, std::size_t bytes);

  /// Builds the pipeline of `v` from `spirv`; `spec` overrides the variant's
  /// specialization constants in order (missing ones keep their defaults).
  pipeline make_pipeline(const kernel_variant& v, const std::vector<std::uint32_t>& spirv,
                         const std::vector<std::uint32_t>& spec = {});
  void destroy(pipeline& p);

  /// Records `reps` dispatches (with a barrier between them), submits, waits.
  /// Returns the GPU time per dispatch in ms from timestamp queries.
  double dispatch(const pipeline& p, const bindings& b, const push_params& params,
                  std::array<std::uint32_t, 3> groups, int reps = 1);

 private:
  struct impl;
  std::unique_ptr<impl> d_;
  std::uint32_t subgroup_size_ = 0;
};

/// Workgroup counts for a 1-D item count spread over a 2-D grid (the
/// manifest's "x = min(g, 32768), y = ceil(g / x)" rule).
std::array<std::uint32_t, 3> grid_2d(std::size_t items, std::uint32_t wg_size);

}  // namespace lowbit_vk
