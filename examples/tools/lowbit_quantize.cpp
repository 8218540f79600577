// lowbit-quantize: Hugging Face fp16/bf16/f32 checkpoint → MLX-format checkpoint (affine or
// mxfp4/mxfp8/nvfp4) with the config.json mlx-lm writes; MoE experts stacked into switch_mlp.
#include <fnmatch.h>

#include <lowbit/core/thread_pool.hpp>
#include <lowbit/io/checkpoint.hpp>
#include <lowbit/io/lut_layout.hpp>
#include <lowbit/io/mlx_config.hpp>
#include <lowbit/io/safetensors_writer.hpp>
#include <lowbit/lowbit.hpp>

#include <regex>

#include "model_io.hpp"
#include "tool_common.hpp"

namespace lt = lowbit::tools;
namespace io = lowbit::io;
using lowbit::quant_format;
using lowbit::quant_mode;

namespace {

constexpr const char* usage = R"(usage: lowbit-quantize IN_DIR OUT_DIR --bits B --group-size G [options]

Quantizes a Hugging Face checkpoint (F16/BF16/F32 safetensors, sharded or not) into the MLX
format mlx-lm loads, bit-exact with MLX's quantize. Linear/embedding weights (rank-2 ".weight"
tensors whose last dim is a multiple of the group size) are quantized; norms, biases and
everything else are copied. MoE experts "P.experts.E.X.weight" are stacked into
"P.switch_mlp.X.weight" as mlx-lm's sanitize does; MoE routers ("*.mlp.gate") get 8 bits,
group 64 in affine mode, as mlx-lm's MoE quant predicates do. With tied embeddings a stored
lm_head.weight is dropped.

options:
  --bits B                 bits (affine: 2,3,4,5,6,8; default 4, or the mode's)
  --group-size G           group size (affine: 32,64,128; default 64, or the mode's)
  --mode M                 affine (default), mxfp4, mxfp8, nvfp4
  --layer PATTERN=B[,G]    different bits (and group) for modules matching PATTERN, a shell
                           glob on the module path without ".weight", e.g. '*.v_proj=6' or
                           'lm_head=8,32'; repeatable, the last match wins; recorded in config.json
  --skip PATTERN           leave modules matching PATTERN unquantized (repeatable)
  --lut B[,G]              palettize instead: one 2^B-entry f16 table per G consecutive output
                           rows (default G 8, as ANEMLL; G 0 = one table per tensor/expert),
                           optimal 1-D k-means (lut_quantize kmeans_optimal). B in 1..8.
                           Writes X.weight U8 [.., rows, cols*B/8] (CoreML iOS18 LSB-first index
                           stream) + X.lut F16 [.., rows/G, 2^B] and config.json
                           "lut_quantization" (layout: include/lowbit/io/lut_layout.hpp).
                           With --lut, --layer PATTERN=B[,G] sets LUT bits/group per module and
                           --skip applies; --bits/--group-size/--mode are ignored. Weights whose
                           rows G does not divide or with cols*B % 8 != 0, and MoE routers, are
                           copied unpalettized.
  --force                  replace OUT_DIR if it exists
  --threads N              worker threads (default: hardware threads)
  --max-shard-size SIZE    shard limit (default 5GB)
  -h, --help               this text
)";

bool glob(const std::string& pattern, const std::string& s) {
  return ::fnmatch(pattern.c_str(), s.c_str(), 0) == 0;
}

// One output module or tensor. Stacked experts have several sources.
struct job {
  std::string out_name;                   // module path for quantized ones, tensor name for plain ones
  std::vector<io::tensor_ref> sources;    // one, or E experts in order
  std::optional<quant_format> format;     // nullopt: copy (unless lut)
  std::size_t rows = 0, cols = 0;         // per source
  std::vector<std::size_t> out_shape;     // logical shape (stacked: [E, rows, cols])
  std::optional<lowbit::lut_format> lut;  // palettized (--lut)
};

// "P.experts.E.X.weight" → ("P.switch_mlp.X'.weight", E), X' mapping Mixtral's w1/w2/w3.
std::optional<std::pair<std::string, std::size_t>> stacked_name(const std::string& name) {
  static const std::regex re(R"(^(.*)\.experts\.(\d+)\.([A-Za-z0-9_]+)\.(weight|bias)$)");
  std::smatch m;
  if (!std::regex_match(name, m, re)) return std::nullopt;
  std::string proj = m[3];
  if (proj == "w1") proj = "gate_proj";
  if (proj == "w2") proj = "down_proj";
  if (proj == "w3") proj = "up_proj";
  return std::pair{fmt::format("{}.switch_mlp.{}.{}", std::string(m[1]), proj, std::string(m[4])),
                   static_cast<std::size_t>(std::stoul(m[2]))};
}

// "B[,G]" → LUT format; G defaults to 8 output rows per table (ANEMLL's default), 0 = per tensor.
lowbit::lut_format parse_lut(const std::string& s, const char* what) {
  static const std::regex re(R"(^(\d+)(?:,(\d+))?$)");
  std::smatch m;
  if (!std::regex_match(s, m, re))
    throw lt::usage_error(fmt::format("{} expects BITS[,GROUP], got '{}'", what, s));
  lowbit::lut_format f;
  f.bits = std::stoi(m[1]);
  f.group_size = m[2].matched ? std::stoul(m[2]) : 8;
  lowbit::validate(f);
  return f;
}

// Palettizes every source (expert) of j whole: a table's optimum needs all of its rows, and a
// per-tensor table all of the matrix. Index streams are written first, then the tables.
void palettize(const job& j, const lowbit::lut_format& f, const lowbit::executor& ex,
               io::checkpoint_writer& writer, lt::progress& bar) {
  std::vector<lowbit::f16> tables;
  lt::with_float_type(j.sources[0]->type, [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> scratch;
    std::vector<std::uint8_t> indices(lowbit::lut_index_bytes(f, j.rows, j.cols));
    std::vector<lowbit::f16> lut(lowbit::lut_groups(f, j.rows) * lowbit::lut_entries(f));
    lowbit::lut_options o;
    o.method = lowbit::lut_method::kmeans_optimal;
    o.exec = ex;
    for (const auto& src : j.sources) {
      const T* w = lt::aligned_rows<T>(src, j.cols, 0, j.rows, scratch);
      lowbit::lut_quantize(f, w, j.rows, j.cols, indices.data(), lut.data(), o);
      writer.append(std::as_bytes(std::span(indices)));
      tables.insert(tables.end(), lut.begin(), lut.end());
      bar.add(src->nbytes());
      src.file->release(*src.info);
    }
    return 0;
  });
  writer.append(std::as_bytes(std::span(tables)));
}

int run(int argc, char** argv) {
  lt::arguments args(argc, argv,
                     {"bits", "group-size", "mode", "layer", "skip", "lut", "threads", "max-shard-size"},
                     {"force", "help"});
  if (args.has("help")) {
    fmt::print("{}", usage);
    return 0;
  }
  if (args.positional().size() != 2) throw lt::usage_error("expected IN_DIR and OUT_DIR");
  const lt::fs::path in = args.positional()[0], out = args.positional()[1];
  const quant_mode mode = lowbit::parse_quant_mode(args.get("mode", "affine"));
  quant_format global = lowbit::default_format(mode);
  global.bits = static_cast<int>(args.get_int("bits", global.bits, 1, 16));
  global.group_size = static_cast<int>(args.get_int("group-size", global.group_size, 1, 4096));
  lowbit::validate(global);
  std::vector<std::pair<std::string, quant_format>> layer_rules;
  for (const auto& r : args.has("lut") ? std::vector<std::string>{} : args.all("layer")) {
    static const std::regex re(R"(^(.+)=(\d+)(?:,(\d+))?$)");
    std::smatch m;
    if (!std::regex_match(r, m, re))
      throw lt::usage_error(fmt::format("--layer expects PATTERN=BITS[,GROUP], got '{}'", r));
    quant_format f = global;
    f.bits = std::stoi(m[2]);
    if (m[3].matched) f.group_size = std::stoi(m[3]);
    lowbit::validate(f);
    layer_rules.emplace_back(m[1], f);
  }
  std::optional<lowbit::lut_format> lut_global;
  std::vector<std::pair<std::string, lowbit::lut_format>> lut_rules;
  if (args.has("lut")) {
    lut_global = parse_lut(args.get("lut"), "--lut");
    for (const auto& r : args.all("layer")) {
      const auto eq = r.rfind('=');
      lut_rules.emplace_back(r.substr(0, eq), parse_lut(r.substr(eq + 1), "--layer"));
    }
  }
  const auto skips = args.all("skip");
  const auto threads = static_cast<std::size_t>(
      args.get_int("threads", std::max(1u, std::thread::hardware_concurrency()), 1, 1024));
  const std::size_t max_shard =
      args.has("max-shard-size") ? lt::parse_size(args.get("max-shard-size")) : 5'000'000'000;

  lt::staged_dir stage(out, args.has("force"));
  const io::checkpoint ck(in);
  const auto cfg = io::read_model_config(in);
  if (cfg.quantization || cfg.fp8) throw lowbit::error(fmt::format("'{}' is already quantized", in.string()));

  // Plan: stack experts, drop a tied lm_head, choose each module's format.
  std::vector<job> jobs;
  std::map<std::string, std::size_t> stack_index;
  for (const auto& name : ck.names()) {
    const auto t = ck.at(name);
    if (cfg.tie_word_embeddings && name == "lm_head.weight") continue;
    if (const auto st = stacked_name(name)) {
      auto [it, fresh] = stack_index.emplace(st->first, jobs.size());
      if (fresh) jobs.push_back({st->first, {}, std::nullopt, 0, 0, {}, std::nullopt});
      auto& j = jobs[it->second];
      if (st->second >= j.sources.size()) j.sources.resize(st->second + 1);
      j.sources[st->second] = t;
      continue;
    }
    jobs.push_back({name, {t}, std::nullopt, 0, 0, t->shape, std::nullopt});
  }
  std::map<std::string, std::optional<quant_format>> overrides;
  std::map<std::string, std::optional<lowbit::lut_format>> lut_overrides;
  for (auto& j : jobs) {
    const auto& first = j.sources.empty() ? io::tensor_ref{} : j.sources[0];
    for (std::size_t e = 0; e < j.sources.size(); ++e)
      if (!j.sources[e].file || j.sources[e]->shape != first->shape || j.sources[e]->type != first->type)
        throw lowbit::error(
            fmt::format("cannot stack '{}': expert {} is missing or differs in shape/dtype", j.out_name, e));
    const bool stacked = j.out_name.find(".switch_mlp.") != std::string::npos;
    if (stacked) {
      j.out_shape = first->shape;
      j.out_shape.insert(j.out_shape.begin(), j.sources.size());
    }
    const bool is_float =
        first->type == io::dtype::F16 || first->type == io::dtype::BF16 || first->type == io::dtype::F32;
    std::string_view module;
    if (!is_float || first->shape.size() != 2 || !io::detail::strip_suffix(j.out_name, ".weight", module))
      continue;
    const std::string mod(module);
    if (std::any_of(skips.begin(), skips.end(), [&](const auto& p) { return glob(p, mod); })) continue;
    if (lut_global) {
      if (mod.ends_with(".mlp.gate") || mod.ends_with(".block_sparse_moe.gate")) continue;
      auto lf = *lut_global;
      for (const auto& [pattern, rf] : lut_rules)
        if (glob(pattern, mod)) lf = rf;
      j.rows = first->shape[0];
      j.cols = first->shape[1];
      if ((lf.group_size != 0 && j.rows % lf.group_size != 0) ||
          j.cols * static_cast<std::size_t>(lf.bits) % 8 != 0)
        continue;
      j.lut = lf;
      j.out_name = mod;
      if (lf.bits != lut_global->bits || lf.group_size != lut_global->group_size) lut_overrides[mod] = lf;
      continue;
    }
    quant_format f = global;
    const bool router = mod.ends_with(".mlp.gate") || mod.ends_with(".block_sparse_moe.gate");
    if (router && mode == quant_mode::affine) f = {quant_mode::affine, 8, 64};
    for (const auto& [pattern, rf] : layer_rules)
      if (glob(pattern, mod)) f = rf;
    j.rows = first->shape[0];
    j.cols = first->shape[1];
    if (j.cols % static_cast<std::size_t>(f.group_size) != 0) continue;  // mlx-lm leaves these unquantized
    j.format = f;
    j.out_name = mod;
    if (f.mode != global.mode || f.bits != global.bits || f.group_size != global.group_size)
      overrides[mod] = f;
  }

  // Output tensors.
  std::vector<io::tensor_spec> specs;
  for (const auto& j : jobs) {
    const auto type = j.sources[0]->type;
    if (j.lut) {
      const std::vector<std::size_t> lead(j.out_shape.begin(), j.out_shape.end() - 2);
      specs.push_back(
          {j.out_name + ".weight", io::dtype::U8, io::lut_index_shape(lead, j.rows, j.cols, *j.lut)});
      specs.push_back({j.out_name + ".lut", io::dtype::F16, io::lut_table_shape(lead, j.rows, *j.lut)});
      continue;
    }
    if (!j.format) {
      specs.push_back({j.out_name, type, j.out_shape});
      continue;
    }
    const auto& f = *j.format;
    auto lead = j.out_shape;
    lead.resize(lead.size() - 2);
    auto with = [&](std::size_t last) {
      auto s = lead;
      s.push_back(j.rows);
      s.push_back(last);
      return s;
    };
    const auto stype = lowbit::is_fp_mode(f.mode) ? io::dtype::U8 : type;
    specs.push_back(
        {j.out_name + ".weight", io::dtype::U32, with(j.cols * static_cast<std::size_t>(f.bits) / 32)});
    specs.push_back({j.out_name + ".scales", stype, with(j.cols / static_cast<std::size_t>(f.group_size))});
    if (!lowbit::is_fp_mode(f.mode))
      specs.push_back({j.out_name + ".biases", stype, with(j.cols / static_cast<std::size_t>(f.group_size))});
  }
  io::checkpoint_writer writer(stage.path(), specs, max_shard, {{"format", "mlx"}});
  for (const auto& f : ck.files()) f.advise_sequential();

  std::size_t total_in = 0;
  for (const auto& j : jobs)
    for (const auto& s : j.sources) total_in += s->nbytes();
  lt::progress bar("lowbit-quantize", total_in);
  lowbit::thread_pool pool(threads);
  for (const auto& j : jobs) {
    if (j.lut) {
      palettize(j, *j.lut, pool.get(), writer, bar);
      continue;
    }
    if (!j.format) {
      for (const auto& s : j.sources) {
        writer.append(s.bytes());
        bar.add(s->nbytes());
      }
      continue;
    }
    const auto& f = *j.format;
    const std::size_t wpr = j.cols * static_cast<std::size_t>(f.bits) / 32,
                      gpr = j.cols / static_cast<std::size_t>(f.group_size);
    std::vector<std::byte> scales_all,
        biases_all;  // written after the packed weight (1/8 of its size or less)
    lt::with_float_type(j.sources[0]->type, [&](auto t_tag) {
      using T = decltype(t_tag);
      auto quantize_with = [&](auto s_tag) {
        using S = decltype(s_tag);
        const bool affine = f.mode == quant_mode::affine;
        const std::size_t step = std::max<std::size_t>(1, (8u << 20) / (j.cols * sizeof(T)));
        std::vector<T> scratch;
        std::vector<std::uint32_t> packed;
        std::vector<S> scales, biases;
        for (const auto& src : j.sources) {
          for (std::size_t r = 0; r < j.rows; r += step) {
            const std::size_t r1 = std::min(j.rows, r + step), n = r1 - r;
            const T* w = lt::aligned_rows<T>(src, j.cols, r, r1, scratch);
            packed.resize(n * wpr);
            scales.resize(n * gpr);
            biases.resize(affine ? n * gpr : 0);
            lt::parallel_chunks(threads, n, 1, [&](std::size_t a, std::size_t b) {
              lowbit::quantize(f, w + a * j.cols, b - a, j.cols, packed.data() + a * wpr,
                               scales.data() + a * gpr,
                               affine ? biases.data() + a * gpr : static_cast<S*>(nullptr));
            });
            writer.append(std::as_bytes(std::span(packed)));
            const auto sb = std::as_bytes(std::span(scales)), bb = std::as_bytes(std::span(biases));
            scales_all.insert(scales_all.end(), sb.begin(), sb.end());
            biases_all.insert(biases_all.end(), bb.begin(), bb.end());
            bar.add(n * j.cols * sizeof(T));
          }
          src.file->release(*src.info);
        }
        return 0;
      };
      if (lowbit::is_fp_mode(f.mode))
        return quantize_with(std::uint8_t{});
      else
        return quantize_with(T{});
    });
    writer.append(scales_all);
    if (f.mode == quant_mode::affine) writer.append(biases_all);
  }
  writer.finish();

  auto config = cfg.json;
  if (lut_global) {
    config[io::lut_config_key] = io::lut_quantization_json(*lut_global, "kmeans_optimal", lut_overrides);
  } else {
    const auto q = io::quantization_json(global, overrides);
    config["quantization"] = q;
    config["quantization_config"] = q;
  }
  lt::write_text(stage.path() / "config.json", config.dump(2) + "\n");
  lt::copy_side_files(in, stage.path(), [](const std::string& name) {
    return name != "config.json" && name != io::checkpoint::index_name && !name.ends_with(".safetensors") &&
           name[0] != '.';
  });
  stage.commit();
  std::size_t quantized = 0;
  for (const auto& j : jobs) quantized += j.format.has_value() || j.lut.has_value();
  if (lut_global)
    fmt::print(stderr,
               "lowbit-quantize: {} modules palettized (LUT {}-bit, {} rows per table, {} overrides), {} "
               "tensors copied -> {}\n",
               quantized, lut_global->bits, lut_global->group_size, lut_overrides.size(),
               jobs.size() - quantized, out.string());
  else
    fmt::print(
        stderr,
        "lowbit-quantize: {} modules quantized ({} {}-bit g{}, {} overrides), {} tensors copied -> {}\n",
        quantized, to_string(global.mode), global.bits, global.group_size, overrides.size(),
        jobs.size() - quantized, out.string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return lt::run_tool("lowbit-quantize", [&] { return run(argc, argv); });
}
