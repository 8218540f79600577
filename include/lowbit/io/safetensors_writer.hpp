// Writing safetensors files and sharded checkpoints, one tensor at a time.
//
// The header (with every offset) comes first in the file, so the writer is told all tensors
// (name, dtype, shape) up front; the data then streams in, in that order, in as many pieces
// as the caller likes, so memory stays bounded by one tensor (or less). Output is written to a
// temporary file, fsync'd and renamed into place by finish(): a failed or abandoned writer
// leaves nothing under the final name.
//
//   safetensors_writer w(path, {{"a", dtype::F16, {4096, 4096}}, ...}, {{"format", "pt"}});
//   w.write("a", bytes_of_a);   // or w.append(piece) repeatedly
//   w.finish();
#pragma once

#include <lowbit/io/detail/output_file.hpp>
#include <lowbit/io/detail/safetensors_header.hpp>
#include <lowbit/io/dtype.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lowbit::io {

/// A tensor to be written: what goes into the header.
struct tensor_spec {
  std::string name;
  dtype type = dtype::F32;
  std::vector<std::size_t> shape;
};

namespace detail {
/// Byte size of a spec, overflow-checked.
inline std::size_t spec_bytes(const tensor_spec& s) {
  std::size_t bits = dtype_bits(s.type);
  for (auto d : s.shape) bits = checked_mul(bits, d, "lowbit::io::safetensors_writer");
  if (bits % 8 != 0) fail("lowbit::io::safetensors_writer: tensor '{}' does not fill whole bytes", s.name);
  return bits / 8;
}
}  // namespace detail

class safetensors_writer {
 public:
  safetensors_writer(const std::filesystem::path& path, std::vector<tensor_spec> specs,
                     const std::map<std::string, std::string>& metadata = {})
      : path_(path), specs_(std::move(specs)) {
    // Header: insertion order = data order. nlohmann::ordered_json keeps it.
    nlohmann::ordered_json h = nlohmann::ordered_json::object();
    if (!metadata.empty()) h["__metadata__"] = metadata;
    std::size_t offset = 0;
    for (const auto& s : specs_) {
      if (s.name.empty() || s.name == "__metadata__")
        detail::fail("lowbit::io::safetensors_writer '{}': invalid tensor name '{}'", path.string(), s.name);
      if (!index_.emplace(s.name, sizes_.size()).second)
        detail::fail("lowbit::io::safetensors_writer '{}': duplicate tensor '{}'", path.string(), s.name);
      const std::size_t n = detail::spec_bytes(s);
      sizes_.push_back(n);
      h[s.name] = {{"dtype", to_string(s.type)}, {"shape", s.shape}, {"data_offsets", {offset, offset + n}}};
      offset += n;
    }
    std::string text = h.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does):
    // readers can then use most tensors in place.
    text.append((8 - text.size() % 8) % 8, ' ');
    out_ = std::make_unique<detail::atomic_output_file>(path);
    std::byte len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<std::byte>((text.size() >> (8 * i)) & 0xff);
    out_->write(len);
    out_->write(std::as_bytes(std::span(text)));
    total_ = 8 + text.size() + offset;
    skip_complete();
  }

  const std::vector<tensor_spec>& specs() const { return specs_; }
  /// The next tensor expecting data, or nullptr when all are complete.
  const tensor_spec* next() const { return current_ < specs_.size() ? &specs_[current_] : nullptr; }

  /// Appends bytes to the current tensor, moving on to the following ones as they fill up.
  void append(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      if (current_ >= specs_.size())
        detail::fail("lowbit::io::safetensors_writer '{}': {} bytes more than the declared tensors hold",
                     path_.string(), bytes.size());
      const std::size_t k = std::min(bytes.size(), sizes_[current_] - filled_);
      out_->write(bytes.first(k));
      bytes = bytes.subspan(k);
      filled_ += k;
      skip_complete();
    }
  }
  /// Writes the whole of tensor `name`, which must be the next one.
  void write(std::string_view name, std::span<const std::byte> bytes) {
    if (const auto it = index_.find(name); it != index_.end() && sizes_[it->second] == 0 && bytes.empty())
      return;
    if (current_ >= specs_.size() || specs_[current_].name != name || filled_ != 0)
      detail::fail("lowbit::io::safetensors_writer '{}': tensor '{}' written out of order (expected '{}')",
                   path_.string(), name,
                   current_ < specs_.size() ? specs_[current_].name : std::string("none"));
    if (bytes.size() != sizes_[current_])
      detail::fail("lowbit::io::safetensors_writer '{}': tensor '{}' is {} bytes, got {}", path_.string(),
                   name, sizes_[current_], bytes.size());
    append(bytes);
  }
  template <class T>
  void write(std::string_view name, std::span<const T> values) {
    write(name, std::as_bytes(values));
  }

  /// Checks that every tensor is complete, then fsyncs and renames the file into place.
  void finish() {
    if (current_ < specs_.size())
      detail::fail("lowbit::io::safetensors_writer '{}': tensor '{}' incomplete ({} of {} bytes) at finish",
                   path_.string(), specs_[current_].name, filled_, sizes_[current_]);
    out_->commit();
  }
  /// Total size of the file.
  std::size_t file_size() const { return total_; }

 private:
  // Invariant: current_ is the first tensor not yet full (zero-size tensors are always full).
  void skip_complete() {
    while (current_ < specs_.size() && filled_ == sizes_[current_]) {
      ++current_;
      filled_ = 0;
    }
  }
  std::filesystem::path path_;
  std::vector<tensor_spec> specs_;
  std::vector<std::size_t> sizes_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::unique_ptr<detail::atomic_output_file> out_;
  std::size_t current_ = 0, filled_ = 0, total_ = 0;
};

/// A Hugging Face-style checkpoint: one `model.safetensors`, or shards
/// `model-0000i-of-0000n.safetensors` of at most `max_shard_bytes` of tensor data each (a
/// tensor larger than the limit gets a shard of its own) plus `model.safetensors.index.json`.
/// Tensors are written in the order given; one shard file is open at a time.
class checkpoint_writer {
 public:
  checkpoint_writer(const std::filesystem::path& dir, std::vector<tensor_spec> specs,
                    std::size_t max_shard_bytes, std::map<std::string, std::string> metadata = {})
      : dir_(dir), metadata_(std::move(metadata)) {
    std::size_t used = 0;
    for (auto& s : specs) {
      const std::size_t n = detail::spec_bytes(s);
      total_ += n;
      if (shards_.empty() || (used > 0 && max_shard_bytes > 0 && used + n > max_shard_bytes)) {
        shards_.emplace_back();
        used = 0;
      }
      used += n;
      shards_.back().push_back(std::move(s));
    }
    if (shards_.empty()) shards_.emplace_back();
  }

  std::size_t shard_count() const { return shards_.size(); }
  std::string shard_name(std::size_t i) const {
    if (shards_.size() == 1) return "model.safetensors";
    return fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards_.size());
  }

  /// Writes tensor `name` (must be the next in order); opens/closes shards as needed.
  void write(std::string_view name, std::span<const std::byte> bytes) {
    open_next_if_needed();
    current_->write(name, bytes);
  }
  /// Streams part of the next tensor (see safetensors_writer::append).
  void append(std::span<const std::byte> bytes) {
    open_next_if_needed();
    current_->append(bytes);
  }
  /// The next tensor expecting data, or nullptr.
  const tensor_spec* next() {
    open_next_if_needed();
    return current_ ? current_->next() : nullptr;
  }

  /// Finishes every shard and writes the index (sharded checkpoints only).
  void finish() {
    open_next_if_needed();
    if (current_)
      detail::fail("lowbit::io::checkpoint_writer '{}': finish() before tensor '{}' was written",
                   dir_.string(), current_->next()->name);
    if (shards_.size() == 1) return;
    nlohmann::ordered_json index;
    index["metadata"] = {{"total_size", total_}};
    nlohmann::ordered_json map = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < shards_.size(); ++i)
      for (const auto& s : shards_[i]) map[s.name] = shard_name(i);
    index["weight_map"] = std::move(map);
    const std::string text = index.dump(2) + "\n";
    detail::atomic_output_file f(dir_ / "model.safetensors.index.json");
    f.write(std::as_bytes(std::span(text)));
    f.commit();
  }

 private:
  // Moves to the next shard when the open one is complete (or none is open yet).
  void open_next_if_needed() {
    while (!current_ || !current_->next()) {
      if (current_) {
        current_->finish();
        current_.reset();
      }
      if (shard_ == shards_.size()) return;
      current_ = std::make_unique<safetensors_writer>(dir_ / shard_name(shard_), shards_[shard_], metadata_);
      ++shard_;
    }
  }

  std::filesystem::path dir_;
  std::map<std::string, std::string> metadata_;
  std::vector<std::vector<tensor_spec>> shards_;
  std::unique_ptr<safetensors_writer> current_;
  std::size_t shard_ = 0, total_ = 0;
};

}  // namespace lowbit::io
