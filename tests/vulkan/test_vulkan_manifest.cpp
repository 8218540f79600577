// The Vulkan manifest as data: unique cache keys, every format covered by
// every kernel, bindings/features consistent with the variant kind, and
// defines that turn into the source text the kernels expect.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "lowbit/gpu/vulkan/glsl_source.hpp"
#include "lowbit/gpu/vulkan/manifest.hpp"

namespace vk = lowbit::gpu::vulkan;
using lowbit::gpu::element;
using lowbit::gpu::kernel_kind;

TEST_CASE("variant names are unique deterministic cache keys") {
  std::set<std::string> names;
  for (const auto& v : vk::variants) CHECK(names.insert(std::string(v.name)).second);
  CHECK(names.size() == vk::variants.size());
  CHECK(vk::variants.size() == 427);
  CHECK(vk::find_variant("gather_qmv_nvfp4_bf16_sg") >= 0);
  CHECK(vk::find_variant("qmm_affine_b3_g128_f16") >= 0);
  CHECK(vk::find_variant("lut_qmv_b7_f16") >= 0);
  CHECK(vk::find_variant("qmv_affine_b7_g64_f16") == -1);
}

TEST_CASE("every format has dequantize, qmv, gather_qmv and qmm, with and without subgroups where reducing") {
  for (int bits : {2, 3, 4, 5, 6, 8})
    for (int g : {32, 64, 128})
      for (element t : {element::f32, element::f16, element::bf16}) {
        const lowbit::quant_format f{lowbit::quant_mode::affine, bits, g};
        CHECK(vk::find_variant(kernel_kind::dequantize, f, t, false) >= 0);
        CHECK(vk::find_variant(kernel_kind::qmm, f, t, false) >= 0);
        for (bool sg : {false, true}) {
          CHECK(vk::find_variant(kernel_kind::qmv, f, t, sg) >= 0);
          CHECK(vk::find_variant(kernel_kind::gather_qmv, f, t, sg) >= 0);
        }
      }
  for (auto m : {lowbit::quant_mode::mxfp4, lowbit::quant_mode::mxfp8, lowbit::quant_mode::nvfp4})
    for (element t : {element::f32, element::f16, element::bf16})
      for (bool sg : {false, true})
        CHECK(vk::find_variant(kernel_kind::qmv, lowbit::default_format(m), t, sg) >= 0);
  for (int b = 1; b <= 8; ++b)
    for (bool sg : {false, true}) CHECK(vk::find_lut_variant(kernel_kind::lut_qmv, b, element::f16, sg) >= 0);
}

TEST_CASE("bindings, features and push constants agree with the kernel kind") {
  for (std::size_t i = 0; i < vk::variants.size(); ++i) {
    const auto& v = vk::variants[i];
    const auto& k = vk::keys[i];
    INFO(v.name);
    CHECK(v.params_size == sizeof(vk::push_params));
    CHECK(v.entry == "main");
    CHECK(((v.features & lowbit::gpu::feature_subgroup_arithmetic) != 0) == k.subgroup);
    CHECK((v.name.substr(v.name.size() - 3) == "_sg") == k.subgroup);
    std::set<std::uint32_t> idx;
    for (const auto& b : v.bindings) CHECK(idx.insert(b.index).second);
    const bool affine_quant = k.mode == lowbit::quant_mode::affine &&
                              (k.kind == kernel_kind::qmv || k.kind == kernel_kind::gather_qmv ||
                               k.kind == kernel_kind::dequantize || k.kind == kernel_kind::qmm);
    CHECK((idx.count(2) == 1) == affine_quant);                         // biases only for affine
    CHECK((idx.count(5) == 1) == (k.kind == kernel_kind::gather_qmv));  // routing ids
    if (!v.spec_constants.empty()) CHECK(v.spec_constants[0].default_value == v.workgroup[0]);
  }
}

TEST_CASE("glsl_source puts the defines right after #version and expands includes") {
  const auto& v = vk::variants[static_cast<std::size_t>(vk::find_variant("qmv_affine_b4_g64_f16_sg"))];
  const std::string s = vk::glsl_source(v);
  CHECK(s.rfind("#version 450\n#define MODE 0\n#define BITS 4\n#define GROUP_SIZE 64\n", 0) == 0);
  CHECK(s.find("#include") == std::string::npos);
  CHECK(s.find("float_to_f16_bits") != std::string::npos);
  CHECK(s.find("load_block") != std::string::npos);
}
