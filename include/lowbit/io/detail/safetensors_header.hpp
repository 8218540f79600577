// Parsing and validating a safetensors header: 8-byte little-endian length, a JSON object
// {"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}, then the data.
//
// The JSON is read with a SAX handler instead of a DOM so that hostile input cannot nest
// deeply, and so that we see duplicate keys (a DOM silently keeps the last one).
#pragma once

#include <lowbit/core/error.hpp>
#include <lowbit/io/dtype.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace lowbit::io {

/// One tensor of a safetensors file. begin/end are byte offsets relative to the start of the
/// data section (the byte after the header), as in the file.
struct tensor_info {
  std::string name;
  dtype type = dtype::U8;
  std::vector<std::size_t> shape;
  std::size_t begin = 0, end = 0;

  std::size_t numel() const {
    std::size_t n = 1;
    for (auto d : shape) n *= d;  // validated against overflow when the header was parsed
    return n;
  }
  std::size_t nbytes() const { return end - begin; }
};

namespace detail {

/// Headers above this are refused before parsing (the reference implementation's limit).
inline constexpr std::size_t max_header_bytes = 100'000'000;

struct parsed_header {
  std::vector<tensor_info> tensors;  // sorted by data offset
  std::map<std::string, std::string> metadata;
  std::size_t data_offset = 0;  // 8 + header length
};

class header_sax {
 public:
  using json = nlohmann::json;
  std::vector<tensor_info> tensors;
  std::map<std::string, std::string> metadata;
  std::string problem;

  bool null() { return scalar("null"); }
  bool boolean(bool) { return scalar("a boolean"); }
  bool number_integer(json::number_integer_t v) {
    if (v >= 0) return number_unsigned(static_cast<json::number_unsigned_t>(v));
    return bad(fmt::format("negative number {} in '{}'", v, field_));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (depth_ != 3) return scalar("a number");
    if (field_ == "shape") {
      cur_.shape.push_back(static_cast<std::size_t>(v));
      if (cur_.shape.size() > 64) return bad("more than 64 dimensions");
    } else if (field_ == "data_offsets") {
      if (offsets_.size() == 2) return bad("'data_offsets' has more than 2 entries");
      offsets_.push_back(static_cast<std::size_t>(v));
    }
    return true;
  }
  bool number_float(json::number_float_t, const json::string_t&) {
    return bad(fmt::format("non-integer number in '{}'", field_));
  }
  bool binary(json::binary_t&) { return scalar("binary"); }
  bool string(json::string_t& s) {
    if (depth_ == 2 && is_meta_) {
      metadata[key_] = s;
      return true;
    }
    if (depth_ == 2 && field_ == "dtype") {
      const auto t = parse_dtype(s);
      if (!t) return bad(fmt::format("unknown dtype '{}'", s));
      cur_.type = *t;
      have_dtype_ = true;
      return true;
    }
    return scalar("a string");
  }
  bool start_object(std::size_t) {
    if (depth_ == 0 || depth_ == 1) {
      ++depth_;
      return true;
    }
    return bad(depth_ == 2 ? fmt::format("'{}' must not be an object", field_) : "nesting too deep");
  }
  bool key(json::string_t& k) {
    if (depth_ == 1) {
      if (!seen_.insert(k).second) return bad(fmt::format("duplicate key '{}'", k));
      key_ = k;
      is_meta_ = k == "__metadata__";
      cur_ = tensor_info{};
      cur_.name = k;
      have_dtype_ = false;
      offsets_.clear();
      fields_.clear();
      return true;
    }
    if (is_meta_) {
      if (metadata.count(k)) return bad(fmt::format("duplicate __metadata__ key '{}'", k));
      key_ = k;
      return true;
    }
    if (k != "dtype" && k != "shape" && k != "data_offsets")
      return bad(fmt::format("tensor '{}' has unknown field '{}'", cur_.name, k));
    if (!fields_.insert(k).second) return bad(fmt::format("tensor '{}' repeats field '{}'", cur_.name, k));
    field_ = k;
    return true;
  }
  bool end_object() {
    --depth_;
    if (depth_ == 1 && !is_meta_) {
      if (!have_dtype_ || !fields_.count("shape") || offsets_.size() != 2)
        return bad(
            fmt::format("tensor '{}' needs 'dtype', 'shape' and 'data_offsets' (2 entries)", cur_.name));
      cur_.begin = offsets_[0];
      cur_.end = offsets_[1];
      tensors.push_back(std::move(cur_));
    }
    field_.clear();
    return true;
  }
  bool start_array(std::size_t) {
    if (depth_ == 2 && !is_meta_ && (field_ == "shape" || field_ == "data_offsets")) {
      ++depth_;
      return true;
    }
    return scalar("an array");
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& ex) {
    return bad(fmt::format("invalid JSON at byte {}: {}", pos, ex.what()));
  }

 private:
  bool scalar(const char* what) {
    if (depth_ == 0) return bad("the header is not a JSON object");
    if (depth_ == 1) return bad(fmt::format("entry '{}' is {}, expected an object", key_, what));
    if (is_meta_) return bad(fmt::format("__metadata__ value of '{}' is {}, expected a string", key_, what));
    return bad(fmt::format("field '{}' of tensor '{}' has the wrong type ({})", field_, cur_.name, what));
  }
  bool bad(std::string msg) {
    if (problem.empty()) problem = std::move(msg);
    return false;
  }
  int depth_ = 0;
  bool is_meta_ = false, have_dtype_ = false;
  std::string key_, field_;
  std::set<std::string> seen_, fields_;
  tensor_info cur_;
  std::vector<std::size_t> offsets_;
};

/// Parses and validates the header of a whole safetensors file held in `file`.
/// `label` (usually the path) goes into every error message.
inline parsed_header parse_header(std::span<const std::byte> file, std::string_view label) {
  auto fail_here = [&](const std::string& msg) { fail("lowbit::io::safetensors '{}': {}", label, msg); };
  if (file.size() < 8)
    fail_here(fmt::format("file too short ({} bytes) for the 8-byte header length", file.size()));
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<std::uint8_t>(file[static_cast<std::size_t>(i)]);
  if (n > max_header_bytes)
    fail_here(fmt::format("header length {} exceeds the limit of {} bytes", n, max_header_bytes));
  if (n > file.size() - 8)
    fail_here(fmt::format("header length {} runs past the end of the file ({} bytes)", n, file.size()));
  if (n < 2 || static_cast<char>(file[8]) != '{') fail_here("the header does not start with '{'");

  const char* text = reinterpret_cast<const char*>(file.data() + 8);
  header_sax sax;
  const bool ok = nlohmann::json::sax_parse(text, text + n, &sax, nlohmann::json::input_format_t::json, true);
  if (!ok || !sax.problem.empty()) fail_here(sax.problem.empty() ? std::string("invalid JSON") : sax.problem);

  parsed_header h;
  h.data_offset = 8 + static_cast<std::size_t>(n);
  const std::size_t data_size = file.size() - h.data_offset;
  for (auto& t : sax.tensors) {
    std::size_t numel = 1;
    for (auto d : t.shape)
      if (__builtin_mul_overflow(numel, d, &numel)) fail_here(fmt::format("shape of '{}' overflows", t.name));
    std::size_t bits = 0;
    if (__builtin_mul_overflow(numel, std::size_t{dtype_bits(t.type)}, &bits))
      fail_here(fmt::format("byte size of '{}' overflows", t.name));
    if (bits % 8 != 0)
      fail_here(fmt::format("tensor '{}': {} elements of {} do not fill whole bytes", t.name, numel,
                            to_string(t.type)));
    if (t.end < t.begin)
      fail_here(fmt::format("tensor '{}': data_offsets [{}, {}) are reversed", t.name, t.begin, t.end));
    if (t.end - t.begin != bits / 8)
      fail_here(fmt::format("tensor '{}': shape {} of {} needs {} bytes but data_offsets [{}, {}) hold {}",
                            t.name, fmt::join(t.shape, "x"), to_string(t.type), bits / 8, t.begin, t.end,
                            t.end - t.begin));
  }
  // Like the reference implementation: sorted by offset, the tensors must tile the data
  // section exactly (no overlap, no gap, nothing after the last one).
  std::stable_sort(sax.tensors.begin(), sax.tensors.end(), [](const tensor_info& a, const tensor_info& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  std::size_t pos = 0;
  for (const auto& t : sax.tensors) {
    if (t.begin != pos)
      fail_here(fmt::format("tensor '{}' starts at data offset {} but the previous tensor ends at {} ({})",
                            t.name, t.begin, pos, t.begin < pos ? "overlap" : "gap"));
    pos = t.end;
  }
  if (pos != data_size)
    fail_here(fmt::format("tensors cover {} bytes of data but the file has {} after the header ({})", pos,
                          data_size, pos > data_size ? "truncated" : "trailing bytes"));
  h.tensors = std::move(sax.tensors);
  h.metadata = std::move(sax.metadata);
  return h;
}

}  // namespace detail
}  // namespace lowbit::io
