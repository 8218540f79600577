// lowbit_metal_translate: turns MSL programs into C++ translation units for
// the emulation (shim/lowbit_metal_emu.hpp). Sources: every program of the
// Metal manifest (the very text a Metal host compiles), a copy of the qmm
// program with its first threadgroup_barrier removed (the missing-barrier
// negative test), and extra .metal files given on the command line.
//
// Rewrites (all else is compiled as written, so the kernels must stay in
// the MSL subset of include/lowbit/gpu/metal/README.md):
//  1. comments are blanked (line numbers kept) so the parser sees code only;
//  2. each `[[kernel]] void NAME(...)` signature is parsed: one attribute per
//     parameter, recorded as `NAME_lowbit_attrs` for argument binding;
//  3. `template [[host_name(N)]] [[kernel]] decltype(F<A>) F<A>;` (also inside
//     #define bodies) becomes LOWBIT_EMU_KERNEL(N, F, A), which instantiates
//     and registers the kernel under its host name;
//  4. function-scope `threadgroup T name[dims];` becomes a reference to the
//     threadgroup's block: `auto& name = tg_array<T[dims], id>();`.
// Usage: lowbit_metal_translate OUT_DIR [NAME=FILE.metal ...]
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/gpu/metal/manifest.hpp"

namespace {

namespace metal = lowbit::gpu::metal;

std::string blank_comments(const std::string& s) {
  std::string out = s;
  for (std::size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '"') {  // skip string literals
      for (++i; i < out.size() && out[i] != '"'; ++i)
        if (out[i] == '\\') ++i;
    } else if (out[i] == '/' && out[i + 1] == '/') {
      for (; i < out.size() && out[i] != '\n'; ++i) out[i] = ' ';
    } else if (out[i] == '/' && out[i + 1] == '*') {
      for (; i + 1 < out.size() && !(out[i] == '*' && out[i + 1] == '/'); ++i)
        if (out[i] != '\n') out[i] = ' ';
      out[i] = out[i + 1] = ' ';
    }
  }
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n\\");
  const auto e = s.find_last_not_of(" \t\r\n\\");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

const std::set<std::string> position_attrs = {
    "thread_position_in_grid",     "threadgroup_position_in_grid", "thread_position_in_threadgroup",
    "threads_per_threadgroup",     "threadgroups_per_grid",        "threads_per_grid",
    "thread_index_in_threadgroup", "thread_index_in_simdgroup",    "simdgroup_index_in_threadgroup",
    "threads_per_simdgroup",       "simdgroups_per_threadgroup"};

struct kernel_sig {
  std::string name;
  std::vector<std::string> attrs;  // C++ initialisers of arg_attr
  std::string params_type;         // type bound at the argument-struct index, if any
  bool is_template = false;        // instantiated through [[host_name]] lists
};

/// Parses every kernel signature of `code` (comments blanked).
std::vector<kernel_sig> parse_kernels(const std::string& code) {
  std::vector<kernel_sig> out;
  const std::regex head(R"((?:\[\[\s*kernel\s*\]\]|\bkernel)\s+void\s+(\w+)\s*\()");
  for (auto it = std::sregex_iterator(code.begin(), code.end(), head); it != std::sregex_iterator(); ++it) {
    kernel_sig k;
    k.name = (*it)[1];
    const auto before = code.find_last_not_of(" \t\r\n", static_cast<std::size_t>(it->position(0)) - 1);
    k.is_template = before != std::string::npos && code[before] == '>';
    std::size_t i = static_cast<std::size_t>(it->position(0) + it->length(0));
    int depth = 1;
    std::string param;
    std::vector<std::string> params;
    for (; i < code.size() && depth > 0; ++i) {
      const char c = code[i];
      if (c == '(' || c == '[' || c == '<') ++depth;
      if (c == ')' || c == ']' || c == '>') --depth;
      if ((c == ',' && depth == 1) || depth == 0) {
        params.push_back(trim(param));
        param.clear();
      } else {
        param += c;
      }
    }
    const std::regex attr(R"(\[\[\s*(\w+)\s*(?:\(\s*(\d+)\s*\))?\s*\]\]\s*$)");
    for (const std::string& p : params) {
      std::smatch m;
      if (!std::regex_search(p, m, attr))
        throw std::runtime_error("kernel " + k.name + ": parameter '" + p + "' has no [[attribute]]");
      const std::string a = m[1];
      if (a == "buffer") {
        k.attrs.push_back("{::metal::emu::arg_kind::buffer, " + std::string(m[2]) + "u}");
        if (std::stoul(m[2]) == metal::params_index) {
          std::smatch t;
          if (std::regex_search(p, t, std::regex(R"(constant\s+(\w+)\s*&)"))) k.params_type = t[1];
        }
      } else if (position_attrs.count(a)) {
        k.attrs.push_back("{::metal::emu::arg_kind::" + a + ", 0u}");
      } else {
        throw std::runtime_error("kernel " + k.name + ": attribute [[" + a +
                                 "]] is outside the emulated subset");
      }
    }
    out.push_back(k);
  }
  return out;
}

std::string translate(const std::string& program, const std::string& name, const std::string& prefix,
                      const std::vector<const lowbit::gpu::kernel_variant*>& variants) {
  const std::string code = blank_comments(program);
  const std::vector<kernel_sig> kernels = parse_kernels(code);

  const std::regex inst(
      R"(template[\s\\]*\[\[\s*host_name\s*\(([^)]*)\)\s*\]\][\s\\]*\[\[\s*kernel\s*\]\][\s\\]*decltype\s*\(\s*(\w+)\s*<([^;]*?)>\s*\)[\s\\]*\w+\s*<[^;]*?>\s*;)");
  std::string body = std::regex_replace(code, inst, "LOWBIT_EMU_KERNEL($1, $2, $3)");

  const std::regex tg_decl(
      R"((^|\n)([ \t]*)threadgroup\s+([A-Za-z_][\w:]*)\s+([A-Za-z_]\w*)\s*((?:\[[^\]\n]+\])*)\s*;)");
  body = std::regex_replace(body, tg_decl, "$1$2auto& $4 = ::metal::emu::tg_array<$3$5, __COUNTER__>();");

  std::ostringstream out;
  out << "// GENERATED by lowbit_metal_translate from the MSL program '" << name << "'. Do not edit.\n";
  out << "#define LOWBIT_EMU_NAME_PREFIX \"" << prefix << "\"\n";
  out << "#include \"lowbit_metal_emu.hpp\"\n#include <cstddef>\n\nnamespace lowbit_emu_" << name << " {\n";
  for (const kernel_sig& k : kernels) {
    out << "inline constexpr ::metal::emu::arg_attr " << k.name << "_lowbit_attrs[] = {";
    for (std::size_t i = 0; i < k.attrs.size(); ++i) out << (i ? ", " : "") << k.attrs[i];
    out << "};\n";
  }
  out << "#line 1 \"" << name << ".metal\"\n" << body << "\n";
  for (const kernel_sig& k : kernels)
    if (!k.is_template) out << "LOWBIT_EMU_PLAIN_KERNEL(" << k.name << ")\n";
  // The manifest's argument-struct layout must be the MSL struct's layout.
  std::set<std::string> checked;
  for (const kernel_sig& k : kernels) {
    if (k.params_type.empty()) continue;
    for (const auto* v : variants)
      for (const auto& f : v->params) {
        const std::string key = k.params_type + "." + std::string(f.name);
        if (!checked.insert(key).second) continue;
        out << "static_assert(offsetof(" << k.params_type << ", " << f.name << ") == " << f.offset
            << ", \"manifest offset of " << key << "\");\n";
      }
  }
  out << "}  // namespace lowbit_emu_" << name << "\n";
  return out.str();
}

void write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: lowbit_metal_translate OUT_DIR [NAME=FILE.metal ...]\n");
    return 2;
  }
  const std::string dir = argv[1];
  for (const metal::program& p : metal::programs) {
    std::vector<const lowbit::gpu::kernel_variant*> vs;
    for (const auto& v : metal::variants)
      if (v.source.data() == p.source.data()) vs.push_back(&v);
    const std::string src(p.source);
    write(dir + "/" + std::string(p.name) + ".emu.cpp", translate(src, std::string(p.name), "", vs));
    if (p.name == "qmm") {
      std::string broken = src;
      const std::string barrier = "threadgroup_barrier(mem_flags::mem_threadgroup);";
      const auto at = broken.find(barrier);
      if (at == std::string::npos) throw std::runtime_error("qmm program has no threadgroup_barrier");
      broken.replace(at, barrier.size(), "/* barrier removed */");
      write(dir + "/qmm_nobarrier.emu.cpp", translate(broken, "qmm_nobarrier", "nobarrier_", vs));
    }
  }
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    if (eq == std::string::npos) throw std::runtime_error("expected NAME=FILE, got " + arg);
    std::ifstream f(arg.substr(eq + 1), std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + arg.substr(eq + 1));
    std::stringstream text;
    text << f.rdbuf();
    const std::string name = arg.substr(0, eq);
    write(dir + "/" + name + ".emu.cpp", translate(text.str(), name, "", {}));
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "lowbit_metal_translate: %s\n", e.what());
  return 1;
}
