// glsl_source(): the compilable GLSL text of a manifest variant. The variant's
// defines go right after the `#version` line (GLSL requires #version first),
// and each `#include "file"` line is replaced by that embedded file, so a
// runtime needs no include callback.
#pragma once

#include <string>
#include <string_view>

#include "lowbit/core/error.hpp"
#include "lowbit/gpu/manifest.hpp"
#include "lowbit/gpu/vulkan/sources.hpp"

namespace lowbit::gpu::vulkan {

/// The embedded file called `name` ("lowbit_quant.glsl"); throws if absent.
inline std::string_view embedded_source(std::string_view name) {
  for (const auto& f : sources::files)
    if (f.name == name) return f.text;
  lowbit::detail::fail("glsl_source: no embedded file named '{}'", name);
}

namespace detail {
inline void append_expanded(std::string& out, std::string_view text, int depth) {
  if (depth > 8) lowbit::detail::fail("glsl_source: #include nesting deeper than 8");
  constexpr std::string_view inc = "#include \"";
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    if (line.substr(0, inc.size()) == inc) {
      const std::size_t close = line.find('"', inc.size());
      if (close == std::string_view::npos)
        lowbit::detail::fail("glsl_source: malformed include line '{}'", line);
      append_expanded(out, embedded_source(line.substr(inc.size(), close - inc.size())), depth + 1);
      if (!out.empty() && out.back() != '\n') out += '\n';
    } else {
      out.append(line);
      out += '\n';
    }
    pos = end + 1;
  }
}
}  // namespace detail

/// Full source text of `v` with its defines (and `extra` lines, e.g. more
/// #defines) inserted after #version and its includes expanded.
inline std::string glsl_source(const kernel_variant& v, std::string_view extra = {}) {
  const std::string_view src = v.source;
  const std::size_t eol = src.find('\n');
  if (src.substr(0, 8) != "#version" || eol == std::string_view::npos)
    lowbit::detail::fail("glsl_source: variant '{}' does not start with a #version line", v.name);
  std::string out(src.substr(0, eol + 1));
  for (const define& d : v.defines) {
    out += "#define ";
    out.append(d.name);
    out += ' ';
    out.append(d.value);
    out += '\n';
  }
  out.append(extra);
  if (!extra.empty() && extra.back() != '\n') out += '\n';
  std::string body;
  detail::append_expanded(body, src.substr(eol + 1), 0);
  out += body;
  return out;
}

}  // namespace lowbit::gpu::vulkan
