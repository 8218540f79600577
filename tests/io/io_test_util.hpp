// Helpers for the I/O tests: hand-made safetensors bytes (independent of lowbit's writer)
// and scratch directories.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace lowbit_test {

/// 8-byte little-endian length + header text + data, exactly as the format lays it out.
inline std::string safetensors_bytes(std::string_view header, std::string_view data,
                                     std::uint64_t len_override = ~0ull) {
  const std::uint64_t n = len_override == ~0ull ? header.size() : len_override;
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += header;
  out += data;
  return out;
}

inline void write_file(const std::filesystem::path& p, std::string_view bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// A fresh empty directory under the build tree for one test case.
inline std::filesystem::path scratch(std::string_view name) {
  auto p = std::filesystem::path(LOWBIT_IO_TEST_TMP) / std::string(name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

}  // namespace lowbit_test
