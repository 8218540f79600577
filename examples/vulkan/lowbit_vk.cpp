// Implementation of the minimal Vulkan host (see lowbit_vk.hpp).
#include "lowbit_vk.hpp"

#include <shaderc/shaderc.hpp>
#include <spirv-tools/libspirv.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "lowbit/core/error.hpp"
#include "lowbit/gpu/vulkan/glsl_source.hpp"

namespace lowbit_vk {

using lowbit::detail::fail;

namespace {
void check(VkResult r, const char* what) {
  if (r != VK_SUCCESS) fail("lowbit_vk: {} failed with VkResult {}", what, static_cast<int>(r));
}

void print_statistics(VkDevice dev, VkPipeline pipe, std::string_view name) {
  auto props = reinterpret_cast<PFN_vkGetPipelineExecutablePropertiesKHR>(
      vkGetDeviceProcAddr(dev, "vkGetPipelineExecutablePropertiesKHR"));
  auto stats = reinterpret_cast<PFN_vkGetPipelineExecutableStatisticsKHR>(
      vkGetDeviceProcAddr(dev, "vkGetPipelineExecutableStatisticsKHR"));
  if (!props || !stats) return;
  VkPipelineInfoKHR pi{VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR};
  pi.pipeline = pipe;
  std::uint32_t n = 0;
  props(dev, &pi, &n, nullptr);
  for (std::uint32_t e = 0; e < n; ++e) {
    VkPipelineExecutableInfoKHR ei{VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR};
    ei.pipeline = pipe;
    ei.executableIndex = e;
    std::uint32_t ns = 0;
    stats(dev, &ei, &ns, nullptr);
    std::vector<VkPipelineExecutableStatisticKHR> st(ns,
                                                     {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR});
    stats(dev, &ei, &ns, st.data());
    std::string line = "stats " + std::string(name) + ":";
    for (const auto& x : st) {
      line += std::string(" ") + x.name + "=";
      switch (x.format) {
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR:
          line += std::to_string(x.value.b32);
          break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR:
          line += std::to_string(x.value.i64);
          break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR:
          line += std::to_string(x.value.u64);
          break;
        default:
          line += std::to_string(x.value.f64);
          break;
      }
    }
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}
}  // namespace

std::vector<std::uint32_t> compile_glsl(const kernel_variant& v) {
  static shaderc::Compiler compiler;  // glslang process init is paid once
  shaderc::CompileOptions opts;
  opts.SetTargetEnvironment(shaderc_target_env_vulkan, shaderc_env_version_vulkan_1_2);
  opts.SetTargetSpirv(shaderc_spirv_version_1_5);
  // spirv-opt unrolls the [[unroll]] loops and turns the per-thread arrays
  // into registers; without it NVIDIA's compiler keeps them in local memory
  // (measured: qmv 0.27x and dequantize 0.07x of copy bandwidth on an H100).
  const char* no_opt = std::getenv("LOWBIT_VK_NO_OPT");
  if (!no_opt || !*no_opt || *no_opt == '0')
    opts.SetOptimizationLevel(shaderc_optimization_level_performance);
  // LOWBIT_VK_EXTRA: extra source lines after the defines (experiments).
  const char* extra = std::getenv("LOWBIT_VK_EXTRA");
  const std::string src = lowbit::gpu::vulkan::glsl_source(v, extra ? extra : "");
  const std::string name(v.name);
  auto res =
      compiler.CompileGlslToSpv(src.data(), src.size(), shaderc_compute_shader, name.c_str(), "main", opts);
  if (res.GetCompilationStatus() != shaderc_compilation_status_success)
    fail("compile_glsl: variant '{}' failed to compile:\n{}", v.name, res.GetErrorMessage());
  return {res.cbegin(), res.cend()};
}

std::string validate_spirv(const std::vector<std::uint32_t>& spirv) {
  spvtools::SpirvTools tools(SPV_ENV_VULKAN_1_2);
  std::string msgs;
  tools.SetMessageConsumer([&](spv_message_level_t, const char*, const spv_position_t& pos, const char* m) {
    msgs += "word " + std::to_string(pos.index) + ": " + m + "\n";
  });
  if (!tools.Validate(spirv) && msgs.empty()) msgs = "invalid SPIR-V";
  return msgs;
}

std::vector<std::uint32_t> spirv_capabilities(const std::vector<std::uint32_t>& spirv) {
  std::vector<std::uint32_t> caps;
  for (std::size_t i = 5; i < spirv.size();) {
    const std::uint32_t op = spirv[i] & 0xffffu, len = spirv[i] >> 16;
    if (len == 0) break;
    if (op == 17 && len == 2) caps.push_back(spirv[i + 1]);  // OpCapability
    i += len;
  }
  return caps;
}

std::array<std::uint32_t, 3> grid_2d(std::size_t items, std::uint32_t wg_size) {
  const std::size_t g = (items + wg_size - 1) / wg_size;
  const std::size_t x = std::min<std::size_t>(std::max<std::size_t>(g, 1), 32768);
  return {static_cast<std::uint32_t>(x), static_cast<std::uint32_t>((g + x - 1) / x), 1};
}

struct context::impl {
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  VkPhysicalDevice phys = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  std::uint32_t family = 0;
  VkCommandPool pool = VK_NULL_HANDLE;
  VkDescriptorPool desc_pool = VK_NULL_HANDLE;
  VkQueryPool queries = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties props{};
  VkPhysicalDeviceMemoryProperties mem{};
  bool f16_storage = false, f8_storage = false, float16 = false, subgroup_arith = false, stats = false;
  std::atomic<std::size_t> messages{0};
  std::mutex msg_mutex;
  std::string last_message;

  static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                                   VkDebugUtilsMessageTypeFlagsEXT,
                                                   const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                   void* self) {
    auto* d = static_cast<impl*>(self);
    ++d->messages;
    std::lock_guard<std::mutex> lock(d->msg_mutex);
    d->last_message = data->pMessage ? data->pMessage : "";
    return VK_FALSE;
  }

  std::uint32_t memory_type(std::uint32_t bits, VkMemoryPropertyFlags want) const {
    for (std::uint32_t i = 0; i < mem.memoryTypeCount; ++i)
      if ((bits & (1u << i)) && (mem.memoryTypes[i].propertyFlags & want) == want) return i;
    fail("lowbit_vk: no memory type with properties {:#x}", want);
  }

  VkCommandBuffer begin() {
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer cb;
    check(vkAllocateCommandBuffers(device, &ai, &cb), "vkAllocateCommandBuffers");
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    check(vkBeginCommandBuffer(cb, &bi), "vkBeginCommandBuffer");
    return cb;
  }
  void submit(VkCommandBuffer cb) {
    check(vkEndCommandBuffer(cb), "vkEndCommandBuffer");
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cb;
    check(vkResetFences(device, 1, &fence), "vkResetFences");
    check(vkQueueSubmit(queue, 1, &si, fence), "vkQueueSubmit");
    check(vkWaitForFences(device, 1, &fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
    vkFreeCommandBuffers(device, pool, 1, &cb);
  }
};

context::context(const options& o) : d_(std::make_unique<impl>()) {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "lowbit_vk";
  app.apiVersion = VK_API_VERSION_1_2;
  std::vector<const char*> layers, exts;
  VkDebugUtilsMessengerCreateInfoEXT dbg{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  dbg.messageSeverity =
      VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  dbg.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  dbg.pfnUserCallback = &impl::on_message;
  dbg.pUserData = d_.get();
  if (o.validation) {
    layers.push_back("VK_LAYER_KHRONOS_validation");
    exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pApplicationInfo = &app;
  ici.enabledLayerCount = static_cast<std::uint32_t>(layers.size());
  ici.ppEnabledLayerNames = layers.data();
  ici.enabledExtensionCount = static_cast<std::uint32_t>(exts.size());
  ici.ppEnabledExtensionNames = exts.data();
  if (o.validation) ici.pNext = &dbg;  // also catches instance creation messages
  check(vkCreateInstance(&ici, nullptr, &d_->instance), "vkCreateInstance (validation layer installed?)");
  if (o.validation) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(d_->instance, "vkCreateDebugUtilsMessengerEXT"));
    if (!create) fail("lowbit_vk: vkCreateDebugUtilsMessengerEXT unavailable");
    check(create(d_->instance, &dbg, nullptr, &d_->messenger), "vkCreateDebugUtilsMessengerEXT");
  }

  std::uint32_t n = 0;
  check(vkEnumeratePhysicalDevices(d_->instance, &n, nullptr), "vkEnumeratePhysicalDevices");
  if (n == 0) fail("lowbit_vk: no Vulkan device");
  std::vector<VkPhysicalDevice> devs(n);
  check(vkEnumeratePhysicalDevices(d_->instance, &n, devs.data()), "vkEnumeratePhysicalDevices");
  int pick = o.device_index;
  if (pick < 0 && std::getenv("LOWBIT_VK_DEVICE")) pick = std::atoi(std::getenv("LOWBIT_VK_DEVICE"));
  if (pick < 0) {
    auto rank = [](VkPhysicalDevice p) {
      VkPhysicalDeviceProperties pr;
      vkGetPhysicalDeviceProperties(p, &pr);
      return pr.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU     ? 0
             : pr.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ? 1
                                                                       : 2;
    };
    pick = static_cast<int>(
        std::min_element(devs.begin(), devs.end(), [&](auto a, auto b) { return rank(a) < rank(b); }) -
        devs.begin());
  }
  if (pick >= static_cast<int>(n)) fail("lowbit_vk: device index {} out of range ({} devices)", pick, n);
  d_->phys = devs[static_cast<std::size_t>(pick)];

  VkPhysicalDeviceSubgroupProperties sg{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  p2.pNext = &sg;
  vkGetPhysicalDeviceProperties2(d_->phys, &p2);
  d_->props = p2.properties;
  subgroup_size_ = sg.subgroupSize;
  d_->subgroup_arith = (sg.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
                       (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT);
  vkGetPhysicalDeviceMemoryProperties(d_->phys, &d_->mem);

  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  f11.pNext = &f12;
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.pNext = &f11;
  vkGetPhysicalDeviceFeatures2(d_->phys, &f2);
  d_->f16_storage = f11.storageBuffer16BitAccess;
  d_->f8_storage = f12.storageBuffer8BitAccess;
  d_->float16 = f12.shaderFloat16;
  // Enable only what lowbit's manifest can ask for.
  VkPhysicalDeviceVulkan11Features e11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features e12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  e11.pNext = &e12;
  e11.storageBuffer16BitAccess = f11.storageBuffer16BitAccess;
  e12.storageBuffer8BitAccess = f12.storageBuffer8BitAccess;
  e12.shaderFloat16 = f12.shaderFloat16;
  e12.hostQueryReset = f12.hostQueryReset;
  // LOWBIT_VK_STATS=1: ask the driver for per-pipeline statistics (registers,
  // spills, local memory) through VK_KHR_pipeline_executable_properties.
  VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR pep{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR};
  std::vector<const char*> dev_exts;
  if (std::getenv("LOWBIT_VK_STATS")) {
    std::uint32_t ne = 0;
    vkEnumerateDeviceExtensionProperties(d_->phys, nullptr, &ne, nullptr);
    std::vector<VkExtensionProperties> ep(ne);
    vkEnumerateDeviceExtensionProperties(d_->phys, nullptr, &ne, ep.data());
    for (const auto& e : ep)
      if (std::strcmp(e.extensionName, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME) == 0) {
        dev_exts.push_back(VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
        pep.pipelineExecutableInfo = VK_TRUE;
        e12.pNext = &pep;
        d_->stats = true;
      }
  }

  std::uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(d_->phys, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(d_->phys, &nq, qf.data());
  bool found = false;
  for (std::uint32_t i = 0; i < nq && !found; ++i)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      d_->family = i;
      found = true;
    }
  if (!found) fail("lowbit_vk: device has no compute queue");
  const float prio = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = d_->family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &prio;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.pNext = &e11;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  dci.enabledExtensionCount = static_cast<std::uint32_t>(dev_exts.size());
  dci.ppEnabledExtensionNames = dev_exts.data();
  check(vkCreateDevice(d_->phys, &dci, nullptr, &d_->device), "vkCreateDevice");
  vkGetDeviceQueue(d_->device, d_->family, 0, &d_->queue);

  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.queueFamilyIndex = d_->family;
  check(vkCreateCommandPool(d_->device, &pci, nullptr, &d_->pool), "vkCreateCommandPool");
  VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 64};
  VkDescriptorPoolCreateInfo dpi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dpi.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
  dpi.maxSets = 8;
  dpi.poolSizeCount = 1;
  dpi.pPoolSizes = &ps;
  check(vkCreateDescriptorPool(d_->device, &dpi, nullptr, &d_->desc_pool), "vkCreateDescriptorPool");
  VkQueryPoolCreateInfo qpi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  qpi.queryType = VK_QUERY_TYPE_TIMESTAMP;
  qpi.queryCount = 2;
  check(vkCreateQueryPool(d_->device, &qpi, nullptr, &d_->queries), "vkCreateQueryPool");
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check(vkCreateFence(d_->device, &fci, nullptr, &d_->fence), "vkCreateFence");
}

context::~context() {
  if (d_->device) {
    vkDeviceWaitIdle(d_->device);
    vkDestroyFence(d_->device, d_->fence, nullptr);
    vkDestroyQueryPool(d_->device, d_->queries, nullptr);
    vkDestroyDescriptorPool(d_->device, d_->desc_pool, nullptr);
    vkDestroyCommandPool(d_->device, d_->pool, nullptr);
    vkDestroyDevice(d_->device, nullptr);
  }
  if (d_->messenger) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(d_->instance, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(d_->instance, d_->messenger, nullptr);
  }
  if (d_->instance) vkDestroyInstance(d_->instance, nullptr);
}

std::string context::device_name() const { return d_->props.deviceName; }
bool context::is_cpu() const { return d_->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU; }
std::size_t context::validation_messages() const { return d_->messages.load(); }
std::string context::last_validation_message() const {
  std::lock_guard<std::mutex> lock(d_->msg_mutex);
  return d_->last_message;
}

bool context::supports(std::uint32_t mask) const {
  using namespace lowbit::gpu;
  if ((mask & feature_storage_16bit) && !d_->f16_storage) return false;
  if ((mask & feature_storage_8bit) && !d_->f8_storage) return false;
  if ((mask & feature_shader_float16) && !d_->float16) return false;
  if ((mask & feature_subgroup_arithmetic) && !d_->subgroup_arith) return false;
  if (mask & (feature_subgroup_shuffle | feature_simdgroup_matrix))
    return false;  // never asked by GLSL variants
  return true;
}

buffer context::make_buffer(std::size_t bytes, bool host_visible) {
  buffer b;
  b.size = std::max<std::size_t>((bytes + 15) / 16 * 16, 16);
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = b.size;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
              VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  check(vkCreateBuffer(d_->device, &bci, nullptr, &b.handle), "vkCreateBuffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(d_->device, b.handle, &req);
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.allocationSize = req.size;
  mai.memoryTypeIndex =
      d_->memory_type(req.memoryTypeBits, host_visible ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                             VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
                                                       : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  check(vkAllocateMemory(d_->device, &mai, nullptr, &b.memory), "vkAllocateMemory");
  check(vkBindBufferMemory(d_->device, b.handle, b.memory, 0), "vkBindBufferMemory");
  if (host_visible) check(vkMapMemory(d_->device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped), "vkMapMemory");
  return b;
}

void context::destroy(buffer& b) {
  if (b.handle) vkDestroyBuffer(d_->device, b.handle, nullptr);
  if (b.memory) vkFreeMemory(d_->device, b.memory, nullptr);
  b = buffer{};
}

void context::upload(buffer& b, const void* data, std::size_t bytes) {
  if (bytes > b.size) fail("upload: {} bytes into a buffer of {}", bytes, b.size);
  if (b.mapped) {
    std::memcpy(b.mapped, data, bytes);
    return;
  }
  buffer staging = make_buffer(bytes, true);
  std::memcpy(staging.mapped, data, bytes);
  VkCommandBuffer cb = d_->begin();
  VkBufferCopy region{0, 0, bytes};
  vkCmdCopyBuffer(cb, staging.handle, b.handle, 1, &region);
  d_->submit(cb);
  destroy(staging);
}

void context::download(const buffer& b, void* data, std::size_t bytes) {
  if (bytes > b.size) fail("download: {} bytes from a buffer of {}", bytes, b.size);
  if (b.mapped) {
    std::memcpy(data, b.mapped, bytes);
    return;
  }
  buffer staging = make_buffer(bytes, true);
  VkCommandBuffer cb = d_->begin();
  VkBufferCopy region{0, 0, bytes};
  vkCmdCopyBuffer(cb, b.handle, staging.handle, 1, &region);
  d_->submit(cb);
  std::memcpy(data, staging.mapped, bytes);
  destroy(staging);
}

pipeline context::make_pipeline(const kernel_variant& v, const std::vector<std::uint32_t>& spirv,
                                const std::vector<std::uint32_t>& spec) {
  if (!supports(v.features))
    fail("make_pipeline: device '{}' lacks features {:#x} of '{}'", device_name(), v.features, v.name);
  pipeline p;
  p.variant = &v;
  VkShaderModuleCreateInfo smi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  smi.codeSize = spirv.size() * 4;
  smi.pCode = spirv.data();
  check(vkCreateShaderModule(d_->device, &smi, nullptr, &p.module), "vkCreateShaderModule");
  std::vector<VkDescriptorSetLayoutBinding> lb;
  for (const auto& b : v.bindings)
    lb.push_back({b.index, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr});
  VkDescriptorSetLayoutCreateInfo dli{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dli.bindingCount = static_cast<std::uint32_t>(lb.size());
  dli.pBindings = lb.data();
  check(vkCreateDescriptorSetLayout(d_->device, &dli, nullptr, &p.set_layout), "vkCreateDescriptorSetLayout");
  VkPushConstantRange pcr{VK_SHADER_STAGE_COMPUTE_BIT, 0, v.params_size};
  VkPipelineLayoutCreateInfo pli{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pli.setLayoutCount = 1;
  pli.pSetLayouts = &p.set_layout;
  pli.pushConstantRangeCount = 1;
  pli.pPushConstantRanges = &pcr;
  check(vkCreatePipelineLayout(d_->device, &pli, nullptr, &p.layout), "vkCreatePipelineLayout");

  std::vector<std::uint32_t> values;
  std::vector<VkSpecializationMapEntry> entries;
  for (std::size_t i = 0; i < v.spec_constants.size(); ++i) {
    values.push_back(i < spec.size() ? spec[i] : v.spec_constants[i].default_value);
    entries.push_back({v.spec_constants[i].id, static_cast<std::uint32_t>(i * 4), 4});
  }
  p.local_size = v.workgroup;
  if (!values.empty()) p.local_size[0] = values[0];  // spec constant 0 is the workgroup size
  VkSpecializationInfo si{static_cast<std::uint32_t>(entries.size()), entries.data(), values.size() * 4,
                          values.data()};
  VkComputePipelineCreateInfo cpi{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cpi.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  cpi.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cpi.stage.module = p.module;
  cpi.stage.pName = "main";
  cpi.stage.pSpecializationInfo = entries.empty() ? nullptr : &si;
  cpi.layout = p.layout;
  if (d_->stats) cpi.flags |= VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR;
  check(vkCreateComputePipelines(d_->device, VK_NULL_HANDLE, 1, &cpi, nullptr, &p.handle),
        "vkCreateComputePipelines");
  if (d_->stats) print_statistics(d_->device, p.handle, v.name);
  return p;
}

void context::destroy(pipeline& p) {
  if (p.handle) vkDestroyPipeline(d_->device, p.handle, nullptr);
  if (p.layout) vkDestroyPipelineLayout(d_->device, p.layout, nullptr);
  if (p.set_layout) vkDestroyDescriptorSetLayout(d_->device, p.set_layout, nullptr);
  if (p.module) vkDestroyShaderModule(d_->device, p.module, nullptr);
  p = pipeline{};
}

double context::dispatch(const pipeline& p, const bindings& bufs, const push_params& params,
                         std::array<std::uint32_t, 3> groups, int reps) {
  const kernel_variant& v = *p.variant;
  VkDescriptorSetAllocateInfo dai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  dai.descriptorPool = d_->desc_pool;
  dai.descriptorSetCount = 1;
  dai.pSetLayouts = &p.set_layout;
  VkDescriptorSet set;
  check(vkAllocateDescriptorSets(d_->device, &dai, &set), "vkAllocateDescriptorSets");
  std::vector<VkDescriptorBufferInfo> infos(v.bindings.size());
  std::vector<VkWriteDescriptorSet> writes(v.bindings.size());
  for (std::size_t i = 0; i < v.bindings.size(); ++i) {
    const auto idx = v.bindings[i].index;
    auto it = std::find_if(bufs.begin(), bufs.end(), [&](const auto& b) { return b.first == idx; });
    if (it == bufs.end() || !it->second) fail("dispatch: '{}' needs a buffer at binding {}", v.name, idx);
    infos[i] = {it->second->handle, 0, VK_WHOLE_SIZE};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = idx;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(d_->device, static_cast<std::uint32_t>(writes.size()), writes.data(), 0, nullptr);

  VkCommandBuffer cb = d_->begin();
  vkCmdResetQueryPool(cb, d_->queries, 0, 2);
  vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.handle);
  vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
  vkCmdPushConstants(cb, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(push_params), &params);
  vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, d_->queries, 0);
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  for (int r = 0; r < reps; ++r) {
    if (r > 0)
      vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                           1, &mb, 0, nullptr, 0, nullptr);
    vkCmdDispatch(cb, groups[0], groups[1], groups[2]);
  }
  vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, d_->queries, 1);
  d_->submit(cb);
  vkFreeDescriptorSets(d_->device, d_->desc_pool, 1, &set);
  std::uint64_t ts[2] = {0, 0};
  check(vkGetQueryPoolResults(d_->device, d_->queries, 0, 2, sizeof(ts), ts, sizeof(std::uint64_t),
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
        "vkGetQueryPoolResults");
  return static_cast<double>(ts[1] - ts[0]) * d_->props.limits.timestampPeriod * 1e-6 / reps;
}

}  // namespace lowbit_vk
