// lowbit-inspect: what is in a checkpoint (per-tensor format table, totals), the fp16 preflight
// (|w| > 65504 after dequantization), ANEMLL's LUT chunk estimate, and optionally the error
// against a reference checkpoint.
#include <lowbit/io/checkpoint.hpp>
#include <lowbit/io/mlx_config.hpp>
#include <lowbit/io/model.hpp>
#include <lowbit/lowbit.hpp>

#include <cmath>
#include <regex>

#include "model_io.hpp"
#include "tool_common.hpp"

namespace lt = lowbit::tools;
namespace io = lowbit::io;

namespace {

constexpr const char* usage = R"(usage: lowbit-inspect DIR [options]

Prints every tensor of a checkpoint (MLX-quantized, FP8-block or plain; sharded or not) with
its logical shape, mode, bits, group size, stored dtype and bytes; totals; the fp16 preflight
(tensors whose dequantized values exceed fp16's 65504, with counts); and the LUT chunk estimate
of ANEMLL (decoder layers split so that fp16 bytes x bits/16 x 1.10 <= max MB per chunk).

options:
  --json                 machine-readable output on stdout
  --lut-bits B           bits for the chunk estimate (default 4)
  --max-chunk-mb MB      chunk limit in MiB (default 950)
  --compare REF_DIR      also print per-tensor error of DIR's (dequantized) weights against the
                         plain checkpoint REF_DIR (tensors matched by name; MoE stacks unstacked)
  --threads N            worker threads for dequantization (default: hardware threads)
  -h, --help             this text
)";

constexpr float fp16_max = 65504.0f;

// Streams the dequantized float values of one logical tensor (or one expert of it) to f(values, n).
template <class F>
void for_each_chunk(const io::model_tensor& t, std::size_t row_begin, std::size_t row_end,
                    std::size_t threads, F&& f) {
  std::vector<float> buf;
  const std::size_t cols = std::max<std::size_t>(t.cols, 1);
  std::size_t step = std::max<std::size_t>(1, (4u << 20) / cols);
  step = (step + lt::row_granule(t) - 1) / lt::row_granule(t) * lt::row_granule(t);
  for (std::size_t r = row_begin; r < row_end; r += step) {
    const std::size_t r1 = std::min(row_end, r + step), n = (r1 - r) * cols;
    buf.resize(n);
    if (t.kind == io::tensor_kind::plain) {
      const std::byte* p = t.weight.bytes().data() + r * cols * io::dtype_size(t.weight->type);
      lt::with_float_type(t.weight->type, [&](auto tag) {
        using T = decltype(tag);
        for (std::size_t i = 0; i < n; ++i) {
          T v;
          std::memcpy(static_cast<void*>(&v), p + i * sizeof(T), sizeof(T));
          buf[i] = static_cast<float>(v);
        }
        return 0;
      });
    } else if (t.kind == io::tensor_kind::lut) {
      lt::lut_dequant_rows(t, r, r1, buf.data(), [&](std::size_t m, std::size_t g, auto&& fn) {
        lt::parallel_chunks(threads, m, g, fn);
      });
    } else if (t.kind == io::tensor_kind::fp8_block) {
      const std::size_t sc = (t.cols + t.block_cols - 1) / t.block_cols;
      lt::with_float_type(t.scales->type, [&](auto s) {
        using S = decltype(s);
        std::vector<S> scratch;
        const S* scale = lt::aligned_rows<S>(t.scales, sc, r / t.block_rows,
                                             (r1 + t.block_rows - 1) / t.block_rows, scratch);
        lowbit::dequantize_fp8_block(
            reinterpret_cast<const std::uint8_t*>(t.weight.bytes().data()) + r * t.cols, scale, r1 - r,
            t.cols, buf.data(), t.block_rows, t.block_cols);
        return 0;
      });
    } else {
      const std::size_t wpr = t.cols * static_cast<std::size_t>(t.format.bits) / 32,
                        gpr = t.cols / static_cast<std::size_t>(t.format.group_size);
      std::vector<std::uint32_t> ws;
      const auto* packed = lt::aligned_rows<std::uint32_t>(t.weight, wpr, r, r1, ws);
      auto run = [&](auto tag) {
        using S = decltype(tag);
        std::vector<S> ss, bs;
        const S* sc = lt::aligned_rows<S>(t.scales, gpr, r, r1, ss);
        const S* bi = t.biases.info ? lt::aligned_rows<S>(t.biases, gpr, r, r1, bs) : nullptr;
        lt::parallel_chunks(threads, r1 - r, 1, [&](std::size_t a, std::size_t b) {
          lowbit::qmatrix<S> q{packed + a * wpr, sc + a * gpr, bi ? bi + a * gpr : nullptr, b - a,
                               t.cols,           t.format};
          lowbit::dequantize(q, buf.data() + a * t.cols);
        });
        return 0;
      };
      if (t.scales->type == io::dtype::U8)
        run(std::uint8_t{});
      else
        lt::with_float_type(t.scales->type, run);
    }
    f(buf.data(), n);
  }
}

bool is_float(io::dtype t) { return t == io::dtype::F16 || t == io::dtype::BF16 || t == io::dtype::F32; }

int run(int argc, char** argv) {
  lt::arguments args(argc, argv, {"lut-bits", "max-chunk-mb", "compare", "threads"}, {"json", "help"});
  if (args.has("help")) {
    fmt::print("{}", usage);
    return 0;
  }
  if (args.positional().size() != 1) throw lt::usage_error("expected one DIR");
  const lt::fs::path dir = args.positional()[0];
  const bool json = args.has("json");
  const long lut_bits = args.get_int("lut-bits", 4, 1, 16);
  const long max_mb = args.get_int("max-chunk-mb", 950, 1, 1 << 20);
  const auto threads = static_cast<std::size_t>(
      args.get_int("threads", std::max(1u, std::thread::hardware_concurrency()), 1, 1024));

  const io::checkpoint ck(dir);
  const auto cfg = lt::fs::exists(dir / "config.json") ? io::read_model_config(dir) : io::model_config{};
  const auto plan = io::plan_model(ck, cfg);

  nlohmann::ordered_json report;
  report["dir"] = dir.string();
  report["quantization"] = cfg.quantization
                               ? fmt::format("{} {}-bit g{}", to_string(cfg.quantization->mode),
                                             cfg.quantization->bits, cfg.quantization->group_size)
                           : cfg.fp8 ? "fp8-block"
                           : cfg.json.is_object() && cfg.json.contains(io::lut_config_key)
                               ? fmt::format("lut {}-bit g{}", io::lut_format_for(cfg.json, "")->bits,
                                             io::lut_format_for(cfg.json, "")->group_size)
                               : "none";
  auto rows = nlohmann::ordered_json::array();  // added to report at the end (references into an
  // ordered_json die when it grows)
  std::size_t params = 0, stored = 0;
  std::map<long, std::size_t> layer_fp16;  // decoder layer index → fp16 bytes
  static const std::regex layer_re(R"(^model\.layers\.(\d+)\.)");
  auto overflow = nlohmann::ordered_json::array();
  std::size_t overflow_total = 0;
  lt::progress bar("lowbit-inspect", [&] {
    std::size_t n = 0;
    for (const auto& t : plan) n += t.stored_bytes();
    return n;
  }());
  for (const auto& t : plan) {
    nlohmann::ordered_json r;
    r["name"] = t.name;
    r["shape"] = t.shape;
    r["kind"] = std::string(to_string(t.kind));
    r["mode"] = t.kind == io::tensor_kind::mlx_quantized ? std::string(to_string(t.format.mode))
                : t.kind == io::tensor_kind::fp8_block   ? "fp8-e4m3"
                : t.kind == io::tensor_kind::lut         ? "lut"
                                                         : "-";
    r["bits"] = t.kind == io::tensor_kind::mlx_quantized ? t.format.bits
                : t.kind == io::tensor_kind::fp8_block   ? 8
                : t.kind == io::tensor_kind::lut         ? t.lut.bits
                                                         : static_cast<int>(io::dtype_bits(t.weight->type));
    r["group"] = t.kind == io::tensor_kind::mlx_quantized ? fmt::format("{}", t.format.group_size)
                 : t.kind == io::tensor_kind::fp8_block   ? fmt::format("{}x{}", t.block_rows, t.block_cols)
                 : t.kind == io::tensor_kind::lut
                     ? (t.lut.group_size == 0 ? std::string("tensor") : fmt::format("{}", t.lut.group_size))
                     : "-";
    r["dtype"] = std::string(to_string(t.kind == io::tensor_kind::plain ? t.weight->type : t.scales->type));
    r["bytes"] = t.stored_bytes();
    const std::size_t n = t.kind == io::tensor_kind::plain ? t.weight->numel() : t.numel();
    params += n;
    stored += t.stored_bytes();
    std::smatch m;
    if (std::regex_search(t.name, m, layer_re)) layer_fp16[std::stol(m[1])] += 2 * n;
    if (t.kind != io::tensor_kind::plain || is_float(t.weight->type)) {
      std::size_t over = 0, nonfinite = 0;
      float amax = 0;
      for_each_chunk(t, 0, t.numel() / std::max<std::size_t>(t.cols, 1), threads,
                     [&](const float* v, std::size_t k) {
                       for (std::size_t i = 0; i < k; ++i) {
                         const float a = std::fabs(v[i]);
                         if (!std::isfinite(a))
                           ++nonfinite;
                         else {
                           amax = std::max(amax, a);
                           over += a > fp16_max;
                         }
                       }
                     });
      r["absmax"] = amax;
      if (over || nonfinite) {
        overflow.push_back(
            {{"name", t.name}, {"over_65504", over}, {"non_finite", nonfinite}, {"absmax", amax}});
        overflow_total += over + nonfinite;
      }
    }
    bar.add(t.stored_bytes());
    rows.push_back(std::move(r));
  }
  report["tensors"] = rows;
  report["fp16_preflight"] = overflow;
  report["totals"] = {
      {"tensors", plan.size()},
      {"params", params},
      {"stored_bytes", stored},
      {"fp16_bytes", 2 * params},
      {"bits_per_weight", params ? 8.0 * static_cast<double>(stored) / static_cast<double>(params) : 0.0}};

  // ANEMLL calc_chunk_split: smallest n with int(largest_chunk_fp16 * bits/16 * 1.10) <= max MiB.
  std::vector<std::size_t> layers;
  for (const auto& [i, b] : layer_fp16) layers.push_back(b);
  std::size_t chunks = 0, largest = 0;
  for (std::size_t n = 1; n <= layers.size(); ++n) {
    largest = 0;
    std::size_t pos = 0;
    for (std::size_t c = 0; c < n; ++c) {
      const std::size_t count = layers.size() / n + (c < layers.size() % n), sum0 = pos;
      std::size_t sum = 0;
      for (; pos < sum0 + count; ++pos) sum += layers[pos];
      largest = std::max(largest, sum);
    }
    if (static_cast<std::size_t>(static_cast<double>(largest) * static_cast<double>(lut_bits) / 16.0 *
                                 1.10) <= static_cast<std::size_t>(max_mb) * 1024 * 1024) {
      chunks = n;
      break;
    }
  }
  report["lut_chunks"] = {
      {"bits", lut_bits},
      {"max_chunk_mb", max_mb},
      {"decoder_layers", layers.size()},
      {"chunks", chunks},
      {"largest_chunk_estimate_mb",
       static_cast<double>(largest) * static_cast<double>(lut_bits) / 16.0 * 1.10 / 1048576.0}};

  if (args.has("compare")) {
    const io::checkpoint ref(args.get("compare"));
    auto cmp = nlohmann::ordered_json::array();
    for (const auto& t : plan) {
      const auto sw = lt::parse_switch_name(t.name);
      const std::size_t pieces = sw && t.shape.size() >= 2 && !ref.contains(t.name) ? t.shape[0] : 1;
      const std::size_t rows_all = t.numel() / std::max<std::size_t>(t.cols, 1);
      for (std::size_t e = 0; e < pieces; ++e) {
        const std::string name = pieces > 1 ? lt::hf_expert_name(*sw, e) : t.name;
        const auto rt = ref.find(name);
        if (!rt.file || !is_float(rt->type)) continue;
        const std::size_t per = rows_all / pieces;
        io::model_tensor rm;
        rm.weight = rt;
        rm.cols = t.cols;
        if (rt->numel() != per * t.cols)
          throw lowbit::error(fmt::format("--compare: '{}' has {} elements in the reference, {} here", name,
                                          rt->numel(), per * t.cols));
        std::vector<float> mine;
        mine.reserve(per * t.cols);
        for_each_chunk(t, e * per, (e + 1) * per, threads,
                       [&](const float* v, std::size_t k) { mine.insert(mine.end(), v, v + k); });
        double se = 0, sr = 0, maxe = 0;
        std::size_t i = 0;
        for_each_chunk(rm, 0, per, threads, [&](const float* v, std::size_t k) {
          for (std::size_t x = 0; x < k; ++x, ++i) {
            const double d = static_cast<double>(mine[i]) - v[x];
            se += d * d;
            sr += static_cast<double>(v[x]) * v[x];
            maxe = std::max(maxe, std::fabs(d));
          }
        });
        cmp.push_back({{"name", name},
                       {"max_abs_err", maxe},
                       {"rms_err", std::sqrt(se / static_cast<double>(std::max<std::size_t>(i, 1)))},
                       {"rel_rms_err", sr > 0 ? std::sqrt(se / sr) : 0.0}});
      }
    }
    report["compare"] = cmp;
  }

  if (json) {
    fmt::print("{}\n", report.dump(2));
    return 0;
  }
  fmt::print("{}  ({}; {} tensors in {} file(s))\n", dir.string(), report["quantization"].get<std::string>(),
             plan.size(), ck.files().size());
  fmt::print("{:<56} {:>18} {:>9} {:>4} {:>7} {:>5} {:>10}\n", "name", "shape", "mode", "bits", "group",
             "dtype", "bytes");
  for (const auto& r : rows)
    fmt::print("{:<56} {:>18} {:>9} {:>4} {:>7} {:>5} {:>10}\n", r["name"].get<std::string>(),
               fmt::format("{}", fmt::join(r["shape"].get<std::vector<std::size_t>>(), "x")),
               r["mode"].get<std::string>(), r["bits"].get<int>(), r["group"].get<std::string>(),
               r["dtype"].get<std::string>(), r["bytes"].get<std::size_t>());
  fmt::print("total: {} params, {:.2f} MB stored ({:.2f} bits/weight), {:.2f} MB as fp16\n", params,
             static_cast<double>(stored) / 1e6, report["totals"]["bits_per_weight"].get<double>(),
             2.0 * static_cast<double>(params) / 1e6);
  if (overflow.empty()) {
    fmt::print("fp16 preflight: ok (no value above 65504)\n");
  } else {
    fmt::print("fp16 preflight: {} value(s) in {} tensor(s) exceed 65504 or are not finite:\n",
               overflow_total, overflow.size());
    for (const auto& o : overflow)
      fmt::print("  {:<56} {} over, {} non-finite, absmax {}\n", o["name"].get<std::string>(),
                 o["over_65504"].get<std::size_t>(), o["non_finite"].get<std::size_t>(),
                 o["absmax"].get<float>());
  }
  fmt::print(
      "LUT{} chunks (ANEMLL rule, max {} MiB): {} decoder layers -> {} chunk(s), largest ~{:.1f} MiB\n",
      lut_bits, max_mb, layers.size(), chunks,
      report["lut_chunks"]["largest_chunk_estimate_mb"].get<double>());
  if (report.contains("compare")) {
    fmt::print("error vs {}:\n{:<56} {:>12} {:>12} {:>10}\n", args.get("compare"), "name", "max|err|",
               "rms err", "rel rms");
    for (const auto& c : report["compare"])
      fmt::print("{:<56} {:>12.3e} {:>12.3e} {:>10.3e}\n", c["name"].get<std::string>(),
                 c["max_abs_err"].get<double>(), c["rms_err"].get<double>(), c["rel_rms_err"].get<double>());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return lt::run_tool("lowbit-inspect", [&] { return run(argc, argv); });
}
