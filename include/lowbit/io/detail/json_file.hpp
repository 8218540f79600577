// Reading small JSON files (config.json, index.json) with a nesting bound, so hostile input
// cannot exhaust the stack of code that later walks the document recursively.
#pragma once

#include <lowbit/core/error.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace lowbit::io::detail {

using lowbit::detail::fail;

inline constexpr int max_json_depth = 64;
inline constexpr std::size_t max_json_bytes = 64u << 20;

/// Parses `text` into an order-preserving document; throws lowbit::error naming `label`.
inline nlohmann::ordered_json parse_json(std::string_view text, std::string_view label) {
  if (text.size() > max_json_bytes)
    fail("lowbit::io: '{}' is {} bytes, over the {} limit", label, text.size(), max_json_bytes);
  bool too_deep = false;
  const nlohmann::ordered_json::parser_callback_t bound =
      [&](int depth, nlohmann::ordered_json::parse_event_t, nlohmann::ordered_json&) {
        if (depth > max_json_depth) too_deep = true;
        return !too_deep;
      };
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text.begin(), text.end(), bound, false);
  if (too_deep) fail("lowbit::io: '{}' nests deeper than {} levels", label, max_json_depth);
  if (j.is_discarded()) {
    // Parse again with exceptions for the position and reason.
    try {
      const auto again = nlohmann::ordered_json::parse(text.begin(), text.end());
      (void)again;
    } catch (const nlohmann::json::exception& e) {
      fail("lowbit::io: '{}' is not valid JSON: {}", label, e.what());
    }
    fail("lowbit::io: '{}' is not valid JSON", label);
  }
  return j;
}

inline std::string read_text_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) fail("lowbit::io: cannot open '{}'", p.string());
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail("lowbit::io: cannot read '{}'", p.string());
  return ss.str();
}

inline nlohmann::ordered_json read_json_file(const std::filesystem::path& p) {
  return parse_json(read_text_file(p), p.string());
}

}  // namespace lowbit::io::detail
