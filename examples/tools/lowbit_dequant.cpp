// lowbit-dequant: MLX-quantized (affine, mxfp4/mxfp8/nvfp4, mixed, MoE, sharded) or FP8-block
// checkpoint → plain Hugging Face checkpoint (f16/bf16/f32), one bounded chunk at a time.
#include <lowbit/io/checkpoint.hpp>
#include <lowbit/io/mlx_config.hpp>
#include <lowbit/io/model.hpp>
#include <lowbit/io/safetensors_writer.hpp>
#include <lowbit/lowbit.hpp>

#include "model_io.hpp"
#include "tool_common.hpp"

namespace lt = lowbit::tools;
namespace io = lowbit::io;

namespace {

constexpr const char* usage = R"(usage: lowbit-dequant IN_DIR OUT_DIR [options]

Dequantizes an MLX checkpoint (affine 2-8 bit, mxfp4, mxfp8, nvfp4; mixed precision; MoE
switch_mlp stacks; sharded), a palettized one (X.weight U8 index stream + X.lut tables, as
lowbit-quantize --lut writes it) or an FP8-block checkpoint (weight_scale_inv) into plain
Hugging Face safetensors. Unquantized tensors are copied bit-exactly; config.json keeps
everything except its quantization keys; tokenizer and other files are copied.
OUT_DIR appears only when the whole run succeeded.

options:
  --dtype f16|bf16|f32     output dtype of dequantized tensors (default: the affine scales'
                           dtype, bf16 for fp modes and FP8, as MLX does)
  --force                  replace OUT_DIR if it exists
  --threads N              worker threads (default: hardware threads)
  --max-shard-size SIZE    split the output into shards of at most SIZE (default 5GB)
  --keep-stacked           keep MoE experts stacked as MLX's switch_mlp (default: one tensor
                           per expert, model.layers.N.mlp.experts.E.*, as Hugging Face has them)
  -h, --help               this text
)";

// An output tensor: which logical tensor (and which expert of it) it comes from.
struct output_piece {
  const io::model_tensor* src;
  std::size_t expert;  // expert index when unstacked, else 0 with all experts
  bool whole;          // all experts in one tensor
  io::tensor_spec spec;
};

std::optional<io::dtype> chosen_dtype;

io::dtype out_dtype(const io::model_tensor& t) {
  if (t.kind == io::tensor_kind::plain) return t.weight->type;
  if (chosen_dtype) return *chosen_dtype;
  if (t.kind == io::tensor_kind::mlx_quantized && t.format.mode == lowbit::quant_mode::affine)
    return t.scales->type;
  if (t.kind == io::tensor_kind::lut) return io::dtype::F16;  // the tables' precision
  return io::dtype::BF16;
}

// Dequantizes rows [r0, r1) of the flattened [experts*rows, cols] tensor into out.
template <class Out>
void dequant_rows(const io::model_tensor& t, std::size_t r0, std::size_t r1, Out* out, std::size_t threads) {
  if (t.kind == io::tensor_kind::lut) {
    lt::lut_dequant_rows(t, r0, r1, out, [&](std::size_t n, std::size_t g, auto&& f) {
      lt::parallel_chunks(threads, n, g, f);
    });
    return;
  }
  if (t.kind == io::tensor_kind::fp8_block) {
    const std::size_t scale_cols = (t.cols + t.block_cols - 1) / t.block_cols;
    lt::with_float_type(t.scales->type, [&](auto s) {
      using S = decltype(s);
      std::vector<S> scratch;
      const std::size_t b0 = r0 / t.block_rows, b1 = (r1 + t.block_rows - 1) / t.block_rows;
      const S* scale = lt::aligned_rows<S>(t.scales, scale_cols, b0, b1, scratch);
      const auto* w = reinterpret_cast<const std::uint8_t*>(t.weight.bytes().data()) + r0 * t.cols;
      lt::parallel_chunks(threads, r1 - r0, t.block_rows, [&](std::size_t a, std::size_t b) {
        lowbit::dequantize_fp8_block(w + a * t.cols, scale + a / t.block_rows * scale_cols, b - a, t.cols,
                                     out + a * t.cols, t.block_rows, t.block_cols);
      });
      return 0;
    });
    return;
  }
  const std::size_t wpr = t.cols * static_cast<std::size_t>(t.format.bits) / 32;
  const std::size_t gpr = t.cols / static_cast<std::size_t>(t.format.group_size);
  std::vector<std::uint32_t> wscratch;
  const std::uint32_t* packed = lt::aligned_rows<std::uint32_t>(t.weight, wpr, r0, r1, wscratch);
  auto run = [&](auto s_tag) {
    using S = decltype(s_tag);
    std::vector<S> sscratch, bscratch;
    const S* scales = lt::aligned_rows<S>(t.scales, gpr, r0, r1, sscratch);
    const S* biases = t.biases.info ? lt::aligned_rows<S>(t.biases, gpr, r0, r1, bscratch) : nullptr;
    lt::parallel_chunks(threads, r1 - r0, 1, [&](std::size_t a, std::size_t b) {
      lowbit::qmatrix<S> q{packed + a * wpr, scales + a * gpr, biases ? biases + a * gpr : nullptr, b - a,
                           t.cols,           t.format};
      lowbit::dequantize(q, out + a * t.cols);
    });
    return 0;
  };
  if (t.scales->type == io::dtype::U8)
    run(std::uint8_t{});
  else
    lt::with_float_type(t.scales->type, run);
}

int run(int argc, char** argv) {
  lt::arguments args(argc, argv, {"dtype", "threads", "max-shard-size"}, {"force", "keep-stacked", "help"});
  if (args.has("help")) {
    fmt::print("{}", usage);
    return 0;
  }
  if (args.positional().size() != 2) throw lt::usage_error("expected IN_DIR and OUT_DIR");
  const lt::fs::path in = args.positional()[0], out = args.positional()[1];
  if (args.has("dtype")) chosen_dtype = lt::parse_float_dtype(args.get("dtype"));
  const auto threads = static_cast<std::size_t>(
      args.get_int("threads", std::max(1u, std::thread::hardware_concurrency()), 1, 1024));
  const std::size_t max_shard =
      args.has("max-shard-size") ? lt::parse_size(args.get("max-shard-size")) : 5'000'000'000;
  const bool unstack = !args.has("keep-stacked");

  // Everything is validated before anything is written.
  lt::staged_dir stage(out, args.has("force"));
  const io::checkpoint ck(in);
  const auto cfg = lt::fs::exists(in / "config.json") ? io::read_model_config(in) : io::model_config{};
  const auto plan = io::plan_model(ck, cfg);

  std::vector<output_piece> pieces;
  for (const auto& t : plan) {
    const auto dt = out_dtype(t);
    const auto sw = lt::parse_switch_name(t.name);
    if (unstack && sw && t.shape.size() >= 2) {
      const std::vector<std::size_t> inner(t.shape.begin() + 1, t.shape.end());
      for (std::size_t e = 0; e < t.shape[0]; ++e)
        pieces.push_back({&t, e, false, {lt::hf_expert_name(*sw, e), dt, inner}});
    } else {
      pieces.push_back({&t, 0, true, {t.name, dt, t.shape}});
    }
  }
  std::vector<io::tensor_spec> specs;
  std::size_t total = 0;
  for (const auto& p : pieces) {
    specs.push_back(p.spec);
    total += io::detail::spec_bytes(p.spec);
  }
  io::checkpoint_writer writer(stage.path(), specs, max_shard, {{"format", "pt"}});
  for (const auto& f : ck.files()) f.advise_sequential();

  lt::progress bar("lowbit-dequant", total);
  constexpr std::size_t chunk_bytes = 16u << 20;
  std::vector<std::byte> buf;
  for (const auto& p : pieces) {
    const auto& t = *p.src;
    if (t.kind == io::tensor_kind::plain) {
      // Bit-exact copy, in chunks (one expert's slice when unstacking).
      const auto all = t.weight.bytes();
      const std::size_t n = p.whole ? all.size() : all.size() / t.shape[0];
      const auto src = all.subspan(p.whole ? 0 : p.expert * n, n);
      for (std::size_t off = 0; off < n; off += chunk_bytes) {
        const auto part = src.subspan(off, std::min(chunk_bytes, n - off));
        writer.append(part);
        bar.add(part.size());
      }
      if (n == 0) writer.write(p.spec.name, {});
      continue;
    }
    const std::size_t all_rows = t.numel() / std::max<std::size_t>(t.cols, 1);
    const std::size_t rows_per_piece = p.whole ? all_rows : all_rows / t.shape[0];
    const std::size_t first = p.whole ? 0 : p.expert * rows_per_piece;
    const std::size_t esize = io::dtype_size(p.spec.type);
    std::size_t step = std::max<std::size_t>(1, chunk_bytes / std::max<std::size_t>(1, t.cols * esize));
    const std::size_t gran = lt::row_granule(t);
    step = (step + gran - 1) / gran * gran;
    for (std::size_t r = first; r < first + rows_per_piece; r += step) {
      const std::size_t r1 = std::min(first + rows_per_piece, r + step);
      buf.resize((r1 - r) * t.cols * esize);
      lt::with_float_type(p.spec.type, [&](auto o) {
        dequant_rows(t, r, r1, reinterpret_cast<decltype(o)*>(buf.data()), threads);
        return 0;
      });
      writer.append(buf);
      bar.add(buf.size());
    }
    if (rows_per_piece == 0) writer.write(p.spec.name, {});
    t.weight.file->release(*t.weight.info);
  }
  writer.finish();

  auto config = io::strip_quantization(cfg.json);
  if (config.is_object()) config.erase(io::lut_config_key);
  if (chosen_dtype && config.is_object()) config["torch_dtype"] = lt::torch_dtype_name(*chosen_dtype);
  if (!cfg.json.is_null()) lt::write_text(stage.path() / "config.json", config.dump(2) + "\n");
  lt::copy_side_files(in, stage.path(), [](const std::string& name) {
    return name != "config.json" && name != io::checkpoint::index_name &&
           !(name.size() > 12 && name.substr(name.size() - 12) == ".safetensors") && name[0] != '.';
  });
  stage.commit();
  fmt::print(stderr, "lowbit-dequant: wrote {} tensors ({:.1f} MB) in {} file(s) to {}\n", specs.size(),
             static_cast<double>(total) / 1e6, writer.shard_count(), out.string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return lt::run_tool("lowbit-dequant", [&] { return run(argc, argv); });
}
