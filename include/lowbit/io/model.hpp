// Walking a checkpoint: which tensors are MLX-quantized (weight + scales [+ biases]), which
// are FP8-block (weight + weight_scale_inv), which are plain — with every shape checked.
// As in mlx-lm, the presence of "X.scales" is what makes X quantized; config.json only says how.
// Likewise "X.lut" makes X palettized (layout in io/lut_layout.hpp).
#pragma once

#include <lowbit/format/lut.hpp>
#include <lowbit/format/quant_format.hpp>
#include <lowbit/io/checkpoint.hpp>
#include <lowbit/io/lut_layout.hpp>
#include <lowbit/io/mlx_config.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace lowbit::io {

enum class tensor_kind { plain, mlx_quantized, fp8_block, lut };

constexpr std::string_view to_string(tensor_kind k) {
  switch (k) {
    case tensor_kind::plain:
      return "plain";
    case tensor_kind::mlx_quantized:
      return "mlx";
    case tensor_kind::fp8_block:
      return "fp8-block";
    case tensor_kind::lut:
      return "lut";
  }
  return "?";
}

/// One logical weight of the model (the dequantized tensor it stands for).
struct model_tensor {
  tensor_kind kind = tensor_kind::plain;
  std::string name;           // e.g. "model.layers.0.mlp.down_proj.weight"
  tensor_ref weight;          // the stored tensor (packed uint32 / e4m3 / plain)
  tensor_ref scales, biases;  // mlx: scales (+ biases, affine); fp8: weight_scale_inv in `scales`;
                              // lut: the tables "X.lut" in `scales`
  quant_format format;        // mlx only
  lut_format lut;             // lut only: bits, output rows per table
  std::size_t block_rows = 0, block_cols = 0;  // fp8 only
  std::size_t experts = 1, rows = 0,
              cols = 0;            // logical [experts, rows, cols] (experts = product of leading dims)
  std::vector<std::size_t> shape;  // logical (dequantized) shape

  std::size_t numel() const { return experts * rows * cols; }
  std::size_t stored_bytes() const {
    return weight->nbytes() + (scales.info ? scales->nbytes() : 0) + (biases.info ? biases->nbytes() : 0);
  }
};

namespace detail {

inline bool strip_suffix(std::string_view s, std::string_view suffix, std::string_view& prefix) {
  if (s.size() < suffix.size() || s.substr(s.size() - suffix.size()) != suffix) return false;
  prefix = s.substr(0, s.size() - suffix.size());
  return true;
}

inline std::string shape_str(const std::vector<std::size_t>& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

inline model_tensor plan_mlx(const checkpoint& ck, const model_config& cfg, std::string_view module,
                             tensor_ref w, tensor_ref s) {
  const auto where = [&] {
    return fmt::format("lowbit::io::model '{}': '{}.weight'", ck.dir().string(), module);
  };
  const auto f = cfg.format_for(module);
  if (!f)
    fail("{} has scales but config.json {}", where(),
         cfg.quantization ? "says this module is not quantized (false)" : "has no \"quantization\"");
  model_tensor t;
  t.kind = tensor_kind::mlx_quantized;
  t.name = std::string(module) + ".weight";
  t.weight = w;
  t.scales = s;
  t.format = *f;
  if (w->type != dtype::U32) fail("{} is {}, expected U32 (packed)", where(), to_string(w->type));
  if (w->shape.size() < 2) fail("{} has rank {}, expected >= 2", where(), w->shape.size());
  const std::size_t r = w->shape.size();
  t.rows = w->shape[r - 2];
  t.cols = checked_mul(w->shape[r - 1], 32, "lowbit::io::model") / static_cast<std::size_t>(f->bits);
  if (w->shape[r - 1] * 32 % static_cast<std::size_t>(f->bits) != 0 ||
      t.cols % static_cast<std::size_t>(f->group_size) != 0)
    fail("{} {}: last dim does not hold whole groups of {} at {} bits", where(), shape_str(w->shape),
         f->group_size, f->bits);
  for (std::size_t i = 0; i + 2 < r; ++i) t.experts *= w->shape[i];
  t.shape = w->shape;
  t.shape[r - 1] = t.cols;
  auto want = w->shape;
  want[r - 1] = t.cols / static_cast<std::size_t>(f->group_size);
  if (s->shape != want)
    fail("{} {} with bits {} group_size {} ({}) needs scales {}, but '{}' is {}", where(),
         shape_str(w->shape), f->bits, f->group_size, to_string(f->mode), shape_str(want), s->name,
         shape_str(s->shape));
  const std::string bname = std::string(module) + ".biases";
  const auto b = ck.find(bname);
  if (f->mode == quant_mode::affine) {
    if (s->type != dtype::F32 && s->type != dtype::F16 && s->type != dtype::BF16)
      fail("{}: affine scales must be F32, F16 or BF16, got {}", where(), to_string(s->type));
    if (!b.file) fail("{}: affine mode needs '{}', which is missing", where(), bname);
    if (b->shape != s->shape || b->type != s->type)
      fail("{}: biases {} {} do not match scales {} {}", where(), to_string(b->type), shape_str(b->shape),
           to_string(s->type), shape_str(s->shape));
    t.biases = b;
  } else {
    if (s->type != dtype::U8)
      fail("{}: {} scales must be U8, got {}", where(), to_string(f->mode), to_string(s->type));
    if (b.file) fail("{}: {} mode has no biases, but '{}' exists", where(), to_string(f->mode), bname);
  }
  return t;
}

inline model_tensor plan_fp8(const checkpoint& ck, const model_config& cfg, std::string_view module,
                             tensor_ref w, tensor_ref s) {
  const auto where = [&] {
    return fmt::format("lowbit::io::model '{}': '{}.weight'", ck.dir().string(), module);
  };
  model_tensor t;
  t.kind = tensor_kind::fp8_block;
  t.name = std::string(module) + ".weight";
  t.weight = w;
  t.scales = s;
  t.block_rows = cfg.fp8 ? cfg.fp8->block_rows : 128;
  t.block_cols = cfg.fp8 ? cfg.fp8->block_cols : 128;
  if (w->type != dtype::F8_E4M3) fail("{} is {}, expected F8_E4M3", where(), to_string(w->type));
  if (w->shape.size() != 2) fail("{} has shape {}, expected [out, in]", where(), shape_str(w->shape));
  t.rows = w->shape[0];
  t.cols = w->shape[1];
  t.shape = w->shape;
  const std::vector<std::size_t> want{(t.rows + t.block_rows - 1) / t.block_rows,
                                      (t.cols + t.block_cols - 1) / t.block_cols};
  if (s->shape != want)
    fail("{} {} with {}x{} blocks needs weight_scale_inv {}, got {}", where(), shape_str(w->shape),
         t.block_rows, t.block_cols, shape_str(want), shape_str(s->shape));
  if (s->type != dtype::F32 && s->type != dtype::BF16 && s->type != dtype::F16)
    fail("{}: weight_scale_inv must be F32, BF16 or F16, got {}", where(), to_string(s->type));
  return t;
}

inline model_tensor plan_lut(const checkpoint& ck, const nlohmann::ordered_json& config,
                             std::string_view module, tensor_ref w, tensor_ref l) {
  model_tensor t;
  t.kind = tensor_kind::lut;
  t.name = std::string(module) + ".weight";
  t.weight = w;
  t.scales = l;
  const auto where = fmt::format("lowbit::io::model '{}': '{}'", ck.dir().string(), t.name);
  const auto sh = lut_logical_shape(where, w->type, w->shape, l->type, l->shape, t.lut);
  t.shape = sh;
  t.rows = sh[sh.size() - 2];
  t.cols = sh.back();
  for (std::size_t i = 0; i + 2 < sh.size(); ++i) t.experts *= sh[i];
  if (const auto f = lut_format_for(config, module); f && f->bits != t.lut.bits)
    fail("{}: config.json \"lut_quantization\" says {} bits, but '{}' {} has {} entries per table", where,
         f->bits, l->name, shape_str(l->shape), l->shape.back());
  return t;
}

}  // namespace detail

/// Every logical tensor of the checkpoint, in checkpoint order; scales/biases/scale_inv are folded
/// into the weight they belong to. Throws lowbit::error on any inconsistency.
inline std::vector<model_tensor> plan_model(const checkpoint& ck, const model_config& cfg) {
  std::vector<model_tensor> out;
  for (const auto& name : ck.names()) {
    std::string_view module;
    const auto ref = ck.at(name);
    if (detail::strip_suffix(name, ".scales", module) || detail::strip_suffix(name, ".lut", module) ||
        detail::strip_suffix(name, ".weight_scale_inv", module)) {
      if (!ck.contains(std::string(module) + ".weight"))
        detail::fail("lowbit::io::model '{}': '{}' has no matching '{}.weight'", ck.dir().string(), name,
                     module);
      continue;
    }
    if (detail::strip_suffix(name, ".biases", module) && ck.contains(std::string(module) + ".scales"))
      continue;
    if (detail::strip_suffix(name, ".weight", module)) {
      if (const auto s = ck.find(std::string(module) + ".scales"); s.file) {
        out.push_back(detail::plan_mlx(ck, cfg, module, ref, s));
        continue;
      }
      if (const auto l = ck.find(std::string(module) + ".lut"); l.file) {
        out.push_back(detail::plan_lut(ck, cfg.json, module, ref, l));
        continue;
      }
      if (const auto s = ck.find(std::string(module) + ".weight_scale_inv"); s.file) {
        out.push_back(detail::plan_fp8(ck, cfg, module, ref, s));
        continue;
      }
    }
    model_tensor t;
    t.name = name;
    t.weight = ref;
    t.shape = ref->shape;
    t.rows = t.shape.size() >= 2 ? t.shape[t.shape.size() - 2] : 1;
    t.cols = t.shape.empty() ? 1 : t.shape.back();
    t.experts = t.rows * t.cols == 0 ? 0 : ref->numel() / (t.rows * t.cols);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace lowbit::io
