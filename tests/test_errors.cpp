// Bad input: every entry point throws lowbit::error whose message names the
// problem and the offending values.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lowbit/lowbit.hpp"

using lowbit::quant_format;
using lowbit::quant_mode;

namespace {
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const lowbit::error& e) {
    return e.what();
  } catch (...) {
    return "<not a lowbit::error>";
  }
  return "<no exception>";
}
#define CHECK_ERROR_MENTIONS(expr, ...)                                                                    \
  do {                                                                                                     \
    const std::string msg_ = message_of([&] { expr; });                                                    \
    for (const char* part : {__VA_ARGS__})                                                                 \
      CHECK_MESSAGE(msg_.find(part) != std::string::npos, msg_ << " lacks '" << std::string(part) << "'"); \
  } while (0)

struct fixture {
  std::vector<float> w = std::vector<float>(4 * 64, 0.5f);
  std::vector<std::uint32_t> packed = std::vector<std::uint32_t>(4 * 64);
  std::vector<float> scales = std::vector<float>(4 * 2), biases = std::vector<float>(4 * 2);
  std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(4 * 4);
  std::vector<float> x = std::vector<float>(64), y = std::vector<float>(8);
};
}  // namespace

TEST_CASE("unsupported formats") {
  CHECK_ERROR_MENTIONS(lowbit::validate(quant_format{quant_mode::affine, 7, 64}), "bits 7",
                       "2, 3, 4, 5, 6, 8");
  CHECK_ERROR_MENTIONS(lowbit::validate(quant_format{quant_mode::affine, 4, 16}), "group_size 16");
  CHECK_ERROR_MENTIONS(lowbit::validate(quant_format{quant_mode::mxfp4, 8, 32}), "mxfp4", "bits 8");
  CHECK_ERROR_MENTIONS(lowbit::validate(quant_format{quant_mode::nvfp4, 4, 32}), "nvfp4", "group_size 32");
  CHECK_ERROR_MENTIONS(lowbit::parse_quant_mode("int4"), "int4");
  CHECK_NOTHROW(lowbit::validate(quant_format{quant_mode::mxfp8, 8, 32}));
}

TEST_CASE("quantize: shapes, pointers, non-finite weights, mode/scale mismatch") {
  fixture d;
  const quant_format f{quant_mode::affine, 4, 64};
  CHECK_ERROR_MENTIONS(
      lowbit::quantize(f, d.w.data(), 2, 100, d.packed.data(), d.scales.data(), d.biases.data()), "cols 100",
      "group_size 64");
  CHECK_ERROR_MENTIONS(
      lowbit::quantize(f, d.w.data(), 4, 64, d.packed.data(), d.scales.data(), (float*)nullptr), "biases");
  CHECK_ERROR_MENTIONS(
      lowbit::quantize(f, (const float*)nullptr, 4, 64, d.packed.data(), d.scales.data(), d.biases.data()),
      "null");
  d.w[70] = std::numeric_limits<float>::quiet_NaN();
  CHECK_ERROR_MENTIONS(
      lowbit::quantize(f, d.w.data(), 4, 64, d.packed.data(), d.scales.data(), d.biases.data()), "non-finite",
      "row 1", "col 6");
  d.w[70] = 0.0f;
  CHECK_ERROR_MENTIONS(lowbit::quantize(quant_format{quant_mode::mxfp4, 4, 32}, d.w.data(), 4, 64,
                                        d.packed.data(), d.bytes.data(), d.bytes.data()),
                       "no biases");
  CHECK_ERROR_MENTIONS(lowbit::quantize(quant_format{quant_mode::mxfp4, 4, 32}, d.w.data(), 4, 64,
                                        d.packed.data(), d.scales.data(), d.biases.data()),
                       "mxfp4", "std::uint8_t scales", "got f32");
  CHECK_ERROR_MENTIONS(lowbit::quantize(quant_format{quant_mode::mxfp4, 4, 32}, d.w.data(), 4, 64,
                                        d.packed.data(), d.bytes.data(), (std::uint8_t*)nullptr, 2.0f),
                       "global_scale", "nvfp4");
  CHECK_ERROR_MENTIONS(lowbit::quantize(f, d.w.data(), std::numeric_limits<std::size_t>::max() / 2, 64,
                                        d.packed.data(), d.scales.data(), d.biases.data()),
                       "overflow");
}

TEST_CASE("kernels: bad views, experts and ids") {
  fixture d;
  const quant_format f{quant_mode::affine, 4, 32};
  lowbit::qmatrix<float> q{d.packed.data(), d.scales.data(), d.biases.data(), 4, 64, f};
  CHECK_NOTHROW(lowbit::qmv(q, d.x.data(), d.y.data()));
  auto bad = q;
  bad.packed = nullptr;
  CHECK_ERROR_MENTIONS(lowbit::qmv(bad, d.x.data(), d.y.data()), "qmv", "packed is null");
  bad = q;
  bad.biases = nullptr;
  CHECK_ERROR_MENTIONS(lowbit::dequantize(bad, d.y.data()), "dequantize", "biases");
  bad = q;
  bad.cols = 48;
  CHECK_ERROR_MENTIONS(lowbit::qmm(bad, d.x.data(), 1, d.y.data()), "qmm", "cols 48", "group_size 32");
  CHECK_ERROR_MENTIONS(lowbit::qmv(q, (const float*)nullptr, d.y.data()), "qmv", "null");

  auto experts = q;
  experts.rows = 2;
  experts.experts = 2;
  CHECK_ERROR_MENTIONS(lowbit::qmv(experts, d.x.data(), d.y.data()), "qmv", "2 experts");
  const std::uint32_t ids[] = {0, 1, 2, 1};
  CHECK_ERROR_MENTIONS(lowbit::gather_qmv(experts, d.x.data(), 2, ids, 2, d.y.data()), "gather_qmv",
                       "expert id 2", "token 1, slot 0", "experts = 2");
  CHECK_ERROR_MENTIONS(lowbit::gather_qmm(experts, d.x.data(), 2, ids, 2, d.y.data()), "expert id 2");
  CHECK_ERROR_MENTIONS(
      lowbit::gather_qmv(experts, d.x.data(), 1, (const std::uint32_t*)nullptr, 1, d.y.data()),
      "ids is null");

  lowbit::qmatrix<std::uint8_t> fp{
      d.packed.data(), d.bytes.data(), d.bytes.data(), 4, 64, lowbit::default_format(quant_mode::mxfp4)};
  CHECK_ERROR_MENTIONS(lowbit::dequantize(fp, d.y.data()), "mxfp4", "no biases");
  fp.biases = nullptr;
  fp.global_scale = 3.0f;
  CHECK_ERROR_MENTIONS(lowbit::dequantize(fp, d.y.data()), "global_scale", "nvfp4");
  lowbit::qmatrix<float> wrong_scales{
      d.packed.data(), d.scales.data(), nullptr, 4, 64, lowbit::default_format(quant_mode::mxfp4)};
  CHECK_ERROR_MENTIONS(lowbit::dequantize(wrong_scales, d.y.data()), "mxfp4", "std::uint8_t");
}

TEST_CASE("dequantize_fp8_block: bad block sizes and pointers") {
  std::vector<std::uint8_t> w(16);
  std::vector<float> s(1), out(16);
  CHECK_ERROR_MENTIONS(lowbit::dequantize_fp8_block(w.data(), s.data(), 4, 4, out.data(), 0, 128),
                       "block size", "[0, 128]");
  CHECK_ERROR_MENTIONS(lowbit::dequantize_fp8_block(w.data(), (const float*)nullptr, 4, 4, out.data()),
                       "null");
}
